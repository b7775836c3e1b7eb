"""The analyze / jobs / worker / results / emergence commands, end to end on the real server."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pandas as pd
import pytest
import typer
from cli_helpers import run_cli
from jobs_helpers import COUNT_JOBS, count, store_fixture
from typer.testing import CliRunner

from neuromfa import api
from neuromfa.cli import analyze_commands, jobs_commands, results_commands
from neuromfa.schema.params import AnalysisParams

CLI = [sys.executable, "-m", "neuromfa.cli"]  # the `neuromfa` command
METRICS = {0: {"val_loss": 5.5, "token_acc": 0.01}, 100: {"val_loss": 4.25, "token_acc": 0.2}}


def make_app() -> typer.Typer:
    app = typer.Typer()
    for module in (analyze_commands, jobs_commands, results_commands):
        module.register(app)
    return app


@pytest.fixture
def cli(db_env):
    runner = CliRunner(env=db_env)
    app = make_app()

    def invoke(*args: str, code: int = 0):
        result = runner.invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    return invoke


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=300)


def test_analyze_results_emergence_and_jobs(store, cli, db_env, tmp_path):
    store_fixture(store, "neox", steps=(0, 100), samples=(0, 1), metrics=METRICS)
    out = cli("analyze", "--model", "neox", "--mode", "one-hop").output
    assert "queued 4 job(s) for neox: one-hop, T=150" in out and "neox: 4 done" in out

    expected = api.results("neox", store=store)  # JSON output is full precision
    got = pd.DataFrame(json.loads(cli("results", "--model", "neox", "--format", "json").stdout))
    assert got["gid"].tolist() == expected["gid"].tolist()
    assert got["alpha0"].tolist() == pytest.approx(expected["alpha0"].tolist(), abs=1e-12)
    assert got["width"].tolist() == pytest.approx(expected["width"].tolist(), abs=1e-12)
    assert set(got["mode"]) == {"one-hop"} and got["passed_filter"].all()
    csv = pd.read_csv(io.StringIO(cli("results", "--model", "neox", "--step", "100", "--format", "csv").stdout))
    assert csv["step"].tolist() == [100, 100]
    assert list(csv.columns[:7]) == ["gid", "step", "sample", "mode", "threshold", "alpha0", "width"]

    em = pd.DataFrame(json.loads(cli("emergence", "--model", "neox", "--format", "json").stdout))
    assert em["step"].tolist() == [0, 100]
    assert em["val_loss"].tolist() == [5.5, 4.25] and em["token_acc"].tolist() == [0.01, 0.2]
    assert em["n_samples"].tolist() == [2, 2] and em.loc[0, "E"] == 0.0
    ref = api.emergence("neox", store=store)
    assert em["E"].tolist() == pytest.approx(ref["E"].tolist(), abs=1e-12)
    assert em["alpha0_mean"].tolist() == pytest.approx(ref["alpha0_mean"].tolist(), abs=1e-12)

    listed = json.loads(cli("jobs", "list", "--format", "json").stdout)
    assert len(listed) == 4 and {j["status"] for j in listed} == {"done"}
    shown = json.loads(cli("jobs", "show", listed[0]["jid"], "--format", "json").stdout)
    assert shown["params"]["mode"] == "one-hop"
    assert shown["aid"] == AnalysisParams(mode="one-hop").analysis_id(shown["graph"])
    cli("jobs", "list", "--format", "parquet", "--out", str(tmp_path / "jobs.parquet"))
    assert sorted(pd.read_parquet(tmp_path / "jobs.parquet")["jid"]) == sorted(j["jid"] for j in listed)
    assert "parquet" in cli("jobs", "show", listed[0]["jid"], "--format", "parquet", code=2).output
    assert "results of neox" in cli("results", "--model", "neox").stdout  # the table renders
    # a file that cannot be written (in an existing folder): one line naming it, no traceback
    done = run(["plot", "spectrum", "--model", "neox", "--mode", "one-hop", "--out", "/proc/fig"], db_env)
    assert done.returncode == 1 and done.stderr.startswith("error: cannot write/read /proc/fig.png"), done.stderr
    assert "Traceback" not in done.stderr and "check the path" in done.stderr
    # a folder that does not exist is an error too, not created
    done = run(["plot", "spectrum", "--model", "neox", "--mode", "one-hop", "--out", str(tmp_path / "no" / "fig")], db_env)
    assert done.returncode == 1 and "the folder" in done.stderr and not (tmp_path / "no").exists(), done.stderr


def test_no_wait_then_worker_then_cancel_and_retry(store, cli):
    store_fixture(store, "neox", steps=(0,), samples=(0, 1))
    out = cli("analyze", "--model", "neox", "--mode", "one-hop", "--no-wait").output
    assert "2 job(s) queued" in out
    queued = json.loads(cli("jobs", "list", "--status", "queued", "--format", "json").stdout)
    assert len(queued) == 2
    first, second = sorted(j["jid"] for j in queued)
    assert f"job {first} cancelled" in cli("jobs", "cancel", first).stdout
    out = cli("worker", "--once").output
    assert f"job {second}" in out and "worker ran 1 job(s)" in out
    assert f"job {first} queued" in cli("jobs", "retry", first).stdout
    assert "worker ran 1 job(s)" in cli("worker", "--max-jobs", "5", "--once").output
    statuses = {j["jid"]: j["status"] for j in json.loads(cli("jobs", "list", "--format", "json").stdout)}
    assert statuses == {first: "done", second: "done"}


def test_errors_are_one_line_without_traceback(store, db_env, monkeypatch, capsys):
    """The first case as a real process (what a user runs); the others through the same entry
    point in this process (no interpreter start per case)."""
    store_fixture(store, "neox", steps=(0,), samples=(0,))
    cases = [
        (["analyze", "--model", "nope"], "error: no stored graphs of model 'nope'"),
        (["analyze", "--model", "neox", "--step", "3"], "error: model 'neox' has no graph at step 3"),
        (["analyze", "--model", "neox", "--q-min", "-0.25"], "error: invalid analysis parameters"),
        (["analyze", "--model", "neox", "--filter", "7"], "error: invalid analysis parameters: --filter"),
        (["jobs", "show", "nosuchjob"], "error: no job with id 'nosuchjob'"),
        (["emergence", "--model", "neox"], "error: model 'neox' has no analysis yet"),
        (["jobs", "show", "[bold]x[/]"], "error: no job with id '[bold]x[/]'"),  # never markup
        (["train-example", "/proc/nope", "--preset", "tiny"], "error: cannot write/read /proc/nope"),
    ]
    for i, (args, message) in enumerate(cases):
        if i == 0:
            done = run(args, db_env)
            code, err = done.returncode, done.stderr
        else:
            code, _, err = run_cli(monkeypatch, capsys, db_env, *args)
        assert code == 1, (args, err)
        assert err.startswith(message), (args, err)
        assert "Traceback" not in err and len(err.strip().splitlines()) <= 2
    assert count(store, COUNT_JOBS) == 0
