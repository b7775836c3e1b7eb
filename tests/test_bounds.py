"""Every parameter that sizes memory or work is bounded and checked before anything runs: one
error line and a hint, no traceback, no database contacted, and the limit stated in --help."""

from __future__ import annotations

import os
import subprocess
import sys

import pydantic
import pytest
import typer
from cli_helpers import run_cli
from typer.testing import CliRunner

from neuromfa.base.errors import ConfigError
from neuromfa.base.limits import MAX_K, MAX_Q_POINTS, MAX_SAMPLES, max_workers
from neuromfa.cli import main as cli_main
from neuromfa.ingest.pipeline import check_ingest
from neuromfa.schema.params import AnalysisParams

CLI = [sys.executable, "-m", "neuromfa.cli"]
FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "neox-h64-l2")

CASES = [
    (["analyze", "--model", "m", "--q-min", "-1e6", "--q-max", "1e6", "--q-step", "0.001"],
     "error: invalid analysis parameters: --q-min: Input should be greater than or equal to -100"),
    (["analyze", "--model", "m", "--q-max", "101"], "error: invalid analysis parameters: --q-max: Input should be less than or equal to 100"),
    (["analyze", "--model", "m", "--q-min", "-10", "--q-max", "10", "--q-step", "0.001"],
     f"error: invalid analysis parameters: q grid -10.0..10.0 step 0.001 has 2e+04 values, at most {MAX_Q_POINTS}"),
    (["analyze", "--model", "m", "--q-step", "1e-320"], "error: invalid analysis parameters: q grid"),
    (["analyze", "--model", "m", "--q-step", "inf"], "error: invalid analysis parameters: --q-step: Input should be a finite number"),
    (["analyze", "--model", "m", "--q-min", "nan"], "error: invalid analysis parameters: --q-min: Input should be a finite number"),
    (["analyze", "--model", "m", "--threshold", "inf"], "error: invalid analysis parameters: --threshold: Input should be a finite number"),
    (["analyze", "--model", "m", "--threshold", "nan"], "error: invalid analysis parameters: --threshold: Input should be a finite number"),
    (["analyze", "--model", "m", "--threshold", "1e7"], "error: invalid analysis parameters: --threshold: Input should be less than or equal to 1000000"),
    (["analyze", "--model", "m", "--threshold", "1"], "error: invalid analysis parameters: --threshold: Input should be greater than 1"),
    (["analyze", "--model", "m", "--workers", "0"], f"error: --workers must be an integer from 1 to {max_workers()}, got 0"),
    (["analyze", "--model", "m", "--workers", "100000"], f"error: --workers must be an integer from 1 to {max_workers()}, got 100000"),
    (["ingest", FIXTURE, "--name", "m", "--samples", "1000000000000"], f"error: --samples must be an integer from 1 to {MAX_SAMPLES}, got 1000000000000"),
    (["ingest", FIXTURE, "--name", "m", "--samples", "0"], f"error: --samples must be an integer from 1 to {MAX_SAMPLES}, got 0"),
    (["ingest", FIXTURE, "--name", "m", "--neurons", "100000"], f"error: --neurons/-k must be an integer from 1 to {MAX_K}, got 100000"),
    (["ingest", FIXTURE, "--name", "m", "-k", "0"], f"error: --neurons/-k must be an integer from 1 to {MAX_K}, got 0"),
    (["ingest", FIXTURE, "--name", "m", "--samples", "2", "--seed-base", str(2**32 - 1)], "error: --seed-base must be an integer from 0 to"),
    (["demo", "--samples", "1000000000000"], f"error: --samples must be an integer from 1 to {MAX_SAMPLES}"),
    (["demo", "--neurons", "100000"], f"error: --neurons/-k must be an integer from 1 to {MAX_K}"),
    (["demo", "--workers", "100000"], f"error: --workers must be an integer from 1 to {max_workers()}"),
]


@pytest.fixture(scope="module")
def no_database_env(tmp_path_factory) -> dict[str, str]:
    """A database URI nobody listens on: a command that got past its checks would fail with a
    database error instead of the expected message (and no local server is started)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "NEUROMFA_"))}
    env.update(NEO4J_URI="bolt://127.0.0.1:9", NEO4J_PASSWORD="unused",
               NEUROMFA_HOME=str(tmp_path_factory.mktemp("home")))
    return env


@pytest.mark.parametrize("args, message", CASES, ids=[" ".join(a[:1] + a[-2:]) for a, _ in CASES])
def test_each_bound_is_one_line_before_anything_runs(no_database_env, args, message, monkeypatch, capsys):
    """Through the command's entry point, in this process (the first case also as a real one)."""
    if args is CASES[0][0]:
        done = subprocess.run([*CLI, *args], env=no_database_env, capture_output=True, text=True, timeout=60)
        code, out, err = done.returncode, done.stdout, done.stderr
        assert (code, err) == run_cli(monkeypatch, capsys, no_database_env, *args)[::2]
    else:
        code, out, err = run_cli(monkeypatch, capsys, no_database_env, *args)
    assert code == 1, err
    assert err.startswith(message), err
    lines = err.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("  hint: "), err
    assert "Traceback" not in err + out


@pytest.mark.parametrize("command, limits", [
    (["analyze"], ["1 < T <= 1,000,000", "|q| <= 100", f"at most {MAX_Q_POINTS} values", f"1 to {max_workers()}"]),
    (["ingest"], [f"1 to {MAX_SAMPLES}", f"1 to {MAX_K}", "2**32"]),
    (["demo"], [f"1 to {MAX_SAMPLES}", f"1 to {MAX_K}", f"1 to {max_workers()}"]),
])
def test_limits_are_stated_in_help(command, limits):
    out = CliRunner(env={"COLUMNS": "300"}).invoke(cli_main.app, [*command, "--help"]).output
    for limit in limits:
        assert limit in out, (limit, out)


def test_analysis_params_bounds():
    assert len(AnalysisParams(q_min=-100, q_max=100, q_step=0.1).q_grid()) == MAX_Q_POINTS
    for bad in (dict(q_min=-100, q_max=100, q_step=0.099), dict(threshold=float("inf")),
                dict(q_min=float("-inf")), dict(q_step=float("nan")), dict(threshold=1e6 + 1)):
        with pytest.raises(pydantic.ValidationError):
            AnalysisParams(**bad)


def test_ingest_arguments_checked_without_model_or_database():
    assert check_ingest("m", 3, 32, 0) == [0, 1, 2]
    assert check_ingest("m", [5, 2, 5], 32, 2**32 - 6) == [2, 5]
    for samples, k, seed_base, match in ((MAX_SAMPLES + 1, 8, 0, "samples must"), (list(range(MAX_SAMPLES + 1)), 8, 0, "at most"),
                                         ([2**32], 8, 0, "sample numbers"), (1, MAX_K + 1, 0, "^k must"),
                                         (1, True, 0, "^k must"), (2, 8, 2**32 - 1, "seed_base must"), (1, 8, -1, "seed_base must")):
        with pytest.raises(ConfigError, match=match):
            check_ingest("m", samples, k, seed_base)


def test_a_validation_error_reaching_main_is_one_line(monkeypatch, capsys):
    """Any pydantic error that slips past the commands' checks prints one line naming the field."""
    def broken() -> None:
        AnalysisParams(threshold="x", filter=9)

    app = typer.Typer()
    app.command()(broken)
    monkeypatch.setattr(cli_main, "app", app)
    monkeypatch.setattr(sys, "argv", ["neuromfa"])
    with pytest.raises(SystemExit) as exit_:
        cli_main.main()
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: invalid AnalysisParams: --threshold: Input should be a valid number")
    assert "(and 1 more)" in err and len(err.strip().splitlines()) == 2 and "Traceback" not in err
