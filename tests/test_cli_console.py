"""Library errors name parameters and operations; the CLI's renderer words them as its flags and
subcommands. Unit tests of the marks and both wordings, a scan that no library error text names a
flag or a shell command, and one-line errors of the real command end to end."""

from __future__ import annotations

import ast
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pydantic
import pytest

from neuromfa.base.errors import PYTHON, AnalysisError, ConfigError, NeuromfaError, action, param
from neuromfa.base.settings import HomeSettings
from neuromfa.base.validation import config_error, validate
from neuromfa.cli.console import CLI, error_lines, flag
from neuromfa.schema.params import AnalysisParams

ROOT = Path(__file__).resolve().parents[1]
CLI_CMD = [sys.executable, "-m", "neuromfa.cli"]


@pytest.mark.parametrize("mark, python, cli", [
    (param("null_samples"), "null_samples", "--null-samples"),
    (param("k"), "k", "--neurons/-k"),
    (param("reference_step"), "reference_step", "--reference-step"),
    (param("null", "shuffle"), "null='shuffle'", "--null shuffle"),
    (param("k", 32), "k=32", "--neurons 32"),
    (param("overwrite", True), "overwrite=True", "--overwrite"),
    (param("out", None), "out=...", "--out ..."),
    (param("fmt", "parquet"), "fmt='parquet'", "--format parquet"),
    (param("params.kind"), "kind", "--param kind"),
    (param("params.kind", None), "kind=...", "--param kind=..."),
    (param("params.name", "value"), "name='value'", "--param name=value"),
    (action("analyze", model="tiny"), "`api.analyze(model='tiny')`", "`neuromfa analyze --model tiny`"),
    (action("analyze", model="my model", mode="one-hop"), "`api.analyze(model='my model', mode='one-hop')`",
     "`neuromfa analyze --model 'my model' --mode one-hop`"),
    (action("ingest", path=None, name="m"), "`api.ingest(path=..., name='m')`", "`neuromfa ingest PATH --name m`"),
    (action("jobs", status=["queued", "running"]), "`api.jobs(status=['queued', 'running'])`",
     "`neuromfa jobs list --status queued --status running`"),
    (action("retry_job", jid="j1"), "`api.retry_job(jid='j1')`", "`neuromfa jobs retry j1`"),
    (action("graphs"), "`api.graphs()`", "`neuromfa graphs`"),
    (action("db_start"), "`neuromfa.store.server.LocalServer().start()`", "`neuromfa db start`"),
    (action("list_queries"), "`neuromfa.queries.library.list_queries()`", "`neuromfa query --list`"),
    (action("query", name="model-summary"), "`neuromfa.queries.run_query(name='model-summary')`",
     "`neuromfa query model-summary`"),
])
def test_marks_read_as_parameters_in_python_and_as_flags_in_the_cli(mark, python, cli):
    text = f"see {mark} now"
    assert PYTHON.render(text) == f"see {python} now"
    assert CLI.render(text) == f"see {cli} now"


def test_an_error_keeps_its_marks_and_words_them_for_python():
    err = ConfigError(f"{param('null_samples')} is set but no null model is chosen",
                      f"add {param('null', 'shuffle')}", param="null")
    assert err.message == "null_samples is set but no null model is chosen"
    assert err.hint == "add null='shuffle'"
    assert str(err) == "null_samples is set but no null model is chosen (add null='shuffle')"
    assert err.param == "null"
    assert error_lines(err) == ("--null-samples is set but no null model is chosen", "add --null shuffle")
    again = pickle.loads(pickle.dumps(err))  # pool processes send errors back pickled
    assert type(again) is ConfigError and error_lines(again) == error_lines(err) and again.param == "null"


def test_text_without_marks_is_unchanged_brackets_and_backticks_included():
    server = "Variable `k` not defined (line 1, column 8) [--threshold]"
    err = AnalysisError(server, "hint [bold]x[/]")
    assert err.message == server and error_lines(err) == (server, "hint [bold]x[/]")


def test_flags_default_to_the_parameter_name():
    assert flag("min_mass") == "--min-mass" and flag("steps") == "--step" and flag("k") == "--neurons/-k"


def test_validation_errors_become_one_config_error_naming_the_field():
    with pytest.raises(ConfigError) as err:
        validate(AnalysisParams, "analysis parameters", threshold=1e7)
    assert err.value.param == "threshold"
    assert err.value.message.startswith("invalid analysis parameters: threshold: Input should be less than")
    assert error_lines(err.value)[0].startswith("invalid analysis parameters: --threshold: Input should be")
    assert error_lines(err.value)[1] == "check --threshold against its allowed values"
    try:
        AnalysisParams(threshold="x", filter=9)
    except pydantic.ValidationError as exc:
        last_resort = config_error(exc)
    assert last_resort.message.startswith("invalid AnalysisParams: threshold: Input should be a valid number")
    assert last_resort.message.endswith("(and 1 more)")


def test_settings_errors_name_the_environment_variable(monkeypatch):
    monkeypatch.setenv("NEUROMFA_BOLT_PORT", "0")
    with pytest.raises(ConfigError) as err:
        validate(HomeSettings, "setting")
    assert err.value.message.startswith("invalid setting: NEUROMFA_BOLT_PORT: Input should be greater")
    assert err.value.hint == "fix or unset the environment variable" and err.value.param is None
    assert error_lines(err.value)[0] == err.value.message


LIBRARY = ["analysis", "base", "experiments", "ingest", "jobs", "neuromfa", "plots", "queries", "results",
           "schema", "store", "training"]


# a flag (`--name`, not a "--" of prose) or a subcommand of the neuromfa command
FLAG_OR_COMMAND = re.compile(r"(^|[\s(`])--[a-z]|\bneuromfa (analyze|ingest|graphs|jobs|query|db|worker|train-example"
                             r"|results|emergence|plot|demo|sweep|report|metrics|experiment)\b")


def _error_texts(path: Path):
    """The string pieces of every call to a ...Error(...) in ``path`` and of every value
    assigned to a ``hint``/``*_HINT`` name."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        parts: list[ast.AST] = []
        if isinstance(node, ast.Call):
            func = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            if func.endswith("Error") or func in ("check_range", "validate"):
                parts = [*node.args, *(k.value for k in node.keywords)]
        elif isinstance(node, ast.Assign) and any("hint" in getattr(t, "id", "").lower() for t in node.targets):
            parts = [node.value]
        for arg in parts:
            for piece in ast.walk(arg):
                if isinstance(piece, ast.Constant) and isinstance(piece.value, str):
                    yield node.lineno, piece.value


def test_no_library_error_names_a_flag_or_a_shell_command():
    found = []
    for folder in LIBRARY:
        for path in sorted((ROOT / folder).rglob("*.py")) if (ROOT / folder).is_dir() else []:
            for line, text in _error_texts(path):
                if FLAG_OR_COMMAND.search(text):
                    found.append(f"{path.relative_to(ROOT)}:{line}: {text!r}")
    assert not found, "\n".join(found)


@pytest.fixture(scope="module")
def offline_env(tmp_path_factory) -> dict[str, str]:
    """No database anywhere (nobody listens on port 9): the errors below come before one is needed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "NEUROMFA_"))}
    env.update(NEO4J_URI="bolt://127.0.0.1:9", NEO4J_PASSWORD="unused",
               NEUROMFA_HOME=str(tmp_path_factory.mktemp("home")))
    return env


@pytest.mark.parametrize("args, message, hint", [
    (["analyze", "--model", "m", "--null-samples", "3"], "error: --null-samples is set but no null model is chosen",
     "  hint: add --null shuffle or --null gaussian"),
    (["analyze", "--model", "m", "--q-max", "101"],
     "error: invalid analysis parameters: --q-max: Input should be less than or equal to 100",
     "  hint: check --q-max against its allowed values"),
    (["query", "no-such-query-zz"], "error: no named query 'no-such-query-zz'", "  hint: see `neuromfa query --list`"),
    (["query", "hub-neurons", "--param", "novalue"], "error: bad query parameter 'novalue'",
     "  hint: write --param name=value"),
])
def test_cli_errors_speak_flags(offline_env, args, message, hint):
    done = subprocess.run([*CLI_CMD, *args], env=offline_env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines() == [message, hint], done.stderr


def test_an_error_outside_the_library_hierarchy_is_still_one_line():
    err = NeuromfaError("plain")
    assert error_lines(err) == ("plain", None)
