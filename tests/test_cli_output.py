"""No surprises in output (#14): --list defaults, limit=0 and truncated results, "0 rows", the
poor-fit warning, tables that fit 80 columns (--wide for all), -m everywhere."""

from __future__ import annotations

import sys

import pandas as pd
import pytest
import query_graph as qg
import typer.main
from cli_helpers import ENV_KEYS

from neuromfa.cli import console as cli_console
from neuromfa.cli.main import app, main
from neuromfa.cli.output import fit_columns
from neuromfa.queries import get_query
from neuromfa.results.tables import poor_fit_warning


@pytest.fixture
def cli(monkeypatch, capsys):
    """cli(*args, env=None, width=250) -> (exit status, stdout, stderr) of `neuromfa *args` on a
    terminal ``width`` columns wide."""

    def run(*args: str, env: dict[str, str] | None = None, width: int = 250) -> tuple[int, str, str]:
        for key in ENV_KEYS if env is not None else ():
            monkeypatch.delenv(key, raising=False)
            if key in env:
                monkeypatch.setenv(key, env[key])
        monkeypatch.setattr(cli_console.console, "_width", width)  # rich: a fixed width (undo: None, the terminal's)
        monkeypatch.setattr(sys, "argv", ["neuromfa", *args])
        with pytest.raises(SystemExit) as exited:
            main()
        out, err = capsys.readouterr()
        return exited.value.code or 0, out, err

    return run


@pytest.fixture
def graph_env(store, db_env: dict[str, str]) -> dict[str, str]:
    qg.load(store)
    return db_env


def test_list_shows_constrained_defaults_whole(cli):
    assert get_query("graph-edges").param("limit").default_text() == "1000"
    code, out, _ = cli("query", "--list", "graph-edges")
    assert code == 0 and "0)=" not in out
    line = next(ln for ln in out.splitlines() if ln.startswith("limit"))
    assert line.split()[:4] == ["limit", "int", "(>=0)", "1000"]


def test_limit_zero_is_all_and_a_cut_result_says_so(cli, graph_env, store):
    edges = store.read("MATCH (a:Neuron {graph: $g})-[s:SYNAPSE]->() RETURN count(s) AS n", g=qg.G0)[0]["n"]
    assert edges > 2
    code, out, err = cli("query", "graph-edges", "-p", f"graph={qg.G0}", "-p", "limit=2", "-f", "csv", env=graph_env)
    assert code == 0 and len(out.splitlines()) == 1 + 2
    assert err.strip() == "showing the first 2 rows; more exist (--param limit=0 for all)"
    code, out, err = cli("query", "graph-edges", "-p", f"graph={qg.G0}", "-p", "limit=0", "-f", "csv", env=graph_env)
    assert code == 0, err
    assert code == 0 and len(out.splitlines()) == 1 + edges and "showing" not in err
    code, out, err = cli("query", "graph-edges", "-p", f"graph={qg.G0}", "-p", f"limit={edges}", "-f", "csv",
                         env=graph_env)
    assert code == 0 and len(out.splitlines()) == 1 + edges and "showing" not in err  # exactly all: not cut


def test_empty_results_say_0_rows(cli, graph_env):
    code, out, _ = cli("query", "--cypher", "MATCH (n:Nothing) RETURN n.x AS x", env=graph_env)
    assert code == 0 and out.strip() == "0 rows"
    code, out, _ = cli("graphs", "-m", "nobody", env=graph_env)
    assert code == 0 and out.strip() == "stored graphs: 0 rows"


def test_poor_fits_warn_and_show_their_column(cli, graph_env, store):
    store.write("MATCH (a:Analysis {aid: $aid}) SET a.r2 = [0.63, 0.99]", aid=qg.A1)
    code, out, err = cli("results", "-m", "tiny", "-f", "csv", env=graph_env)
    assert code == 0 and "r2_min" in out.splitlines()[0]
    assert "warning: 1 of " in err and "r^2 below 0.9 (lowest 0.63, column r2_min)" in err
    frame = pd.DataFrame({"r2_min": [0.95, None, 0.99]})
    assert poor_fit_warning(frame) is None


def test_tables_fit_80_columns_and_wide_shows_all(cli, graph_env):
    code, out, err = cli("graphs", env=graph_env, width=80)
    assert code == 0 and max(len(ln) for ln in out.splitlines()) <= 80
    assert "not shown at this width: " in err and "created" in err and "--wide" in err
    assert qg.G0 in out  # the gid stays: `delete graph GID` needs it
    code, out, err = cli("graphs", "--wide", env=graph_env)
    assert code == 0 and "not shown" not in err and "created" in out
    df = pd.DataFrame({"a": ["x" * 30], "b": ["y" * 30], "c": ["z" * 30]})
    kept, hidden = fit_columns(df, 80, drop_first=["a"])
    assert list(kept.columns) == ["b", "c"] and hidden == ["a"]
    assert fit_columns(df, 10)[0].columns.tolist() == ["a"]  # the first column always stays


def test_every_model_option_has_m():
    group = typer.main.get_command(app)

    def walk(cmd, path):
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                yield from walk(sub, [*path, name])
        else:
            yield path, cmd

    for path, cmd in walk(group, []):
        for opt in cmd.params:
            if "--model" in getattr(opt, "opts", []):
                assert "-m" in opt.opts, " ".join(path)
