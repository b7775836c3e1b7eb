"""`neuromfa query` end to end through the real entry point, on the local server."""

from __future__ import annotations

import csv
import io
import json
import math
import shlex
import sys

import pandas as pd
import pytest
import query_graph as qg
from cli_helpers import ENV_KEYS

from neuromfa.cli.main import main
from neuromfa.queries import list_queries
from neuromfa.store.connection import Store


@pytest.fixture
def cli(monkeypatch, capsys):
    """cli(*args, env=None) -> (exit status, stdout, stderr) of `neuromfa *args`."""

    def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        if env is not None:
            for key in ENV_KEYS:
                monkeypatch.delenv(key, raising=False)
                if key in env:
                    monkeypatch.setenv(key, env[key])
        monkeypatch.setenv("COLUMNS", "250")  # rich tables wide enough not to fold cells
        monkeypatch.setattr(sys, "argv", ["neuromfa", *args])
        with pytest.raises(SystemExit) as exited:
            main()
        out, err = capsys.readouterr()
        return exited.value.code or 0, out, err

    return run


@pytest.fixture
def graph_env(store: Store, db_env: dict[str, str]) -> dict[str, str]:
    qg.load(store)
    return db_env


def test_list_shows_every_named_query(cli):
    code, out, err = cli("query", "--list")
    assert code == 0, err
    for info in list_queries():
        assert info.name in out
    code, out, _ = cli("query", "--list", "--format", "json")
    listed = json.loads(out)
    assert [q["name"] for q in listed] == [q.name for q in list_queries()]
    hubs = next(q for q in listed if q["name"] == "hub-neurons")
    assert {p["name"]: p["type"] for p in hubs["params"]} == {
        "graph": "str", "direction": "str", "kind": "str", "limit": "int", "learned_only": "bool"}


def test_list_name_shows_parameters_and_example(cli):
    code, out, err = cli("query", "--list", "strongest-synapses")
    assert code == 0, err
    for text in ("kind", "mlp_hidden", "limit", "int", "20", "learned_only",
                 "example: neuromfa query strongest-synapses"):
        assert text in out


def test_every_listed_example_runs(cli, graph_env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an example may write its --out file
    for info in list_queries():
        args = shlex.split(info.example)
        assert args[:3] == ["neuromfa", "query", info.name]
        code, out, err = cli(*args[1:], env=graph_env)
        assert code == 0, (info.example, err)
        assert "error" not in err


def test_named_query_with_params_as_json(cli, graph_env):
    code, out, err = cli("query", "strongest-synapses", "--param", f"graph={qg.G0}",
                         "--param", "kind=input", "-p", "limit=2", "--format", "json",
                         env=graph_env)
    assert code == 0, err
    assert json.loads(out) == [
        {"graph": qg.G0, "src_index": 0, "dst_kind": "qkv", "dst_block": 0, "dst_index": 5,
         "w": -0.5, "d": 2.0},
        {"graph": qg.G0, "src_index": 0, "dst_kind": "qkv", "dst_block": 0, "dst_index": 1,
         "w": 0.25, "d": 4.0},
    ]


def test_named_query_as_csv(cli, graph_env):
    code, out, err = cli("query", "emergence", "--format", "csv", env=graph_env)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["model"], r["step"], r["samples"], r["reference_step"]) for r in rows] == [
        ("tiny", "0", "2", "0"), ("tiny", "100", "2", "0")]
    assert float(rows[0]["alpha0"]) == pytest.approx(2.1)
    assert float(rows[1]["E"]) == pytest.approx(2 * math.log(2.1 / 1.5))
    # nulls are empty cells
    code, out, _ = cli("query", "emergence", "-p", "reference_step=50", "-f", "csv", env=graph_env)
    row = list(csv.DictReader(io.StringIO(out)))[0]
    assert row["E"] == "" and row["reference_step"] == "" and row["step"] == "0"


def test_named_query_as_table(cli, graph_env):
    code, out, err = cli("query", "hub-neurons", "--param", "direction=in", "--param", "limit=3",
                         env=graph_env)
    assert code == 0, err
    lines = [ln for ln in out.splitlines() if qg.G1 in ln]
    assert len(lines) == 3
    assert "attn_out" in lines[0] and "mlp_hidden" in lines[1] and "qkv" in lines[2]
    assert "3 rows" in out


def test_parquet_goes_to_a_file(cli, graph_env, tmp_path):
    code, _, err = cli("query", "graph-edges", "-p", f"graph={qg.G4}", "-f", "parquet", env=graph_env)
    assert code == 1 and "add --out" in err
    out = tmp_path / "edges.parquet"
    code, _, err = cli("query", "graph-edges", "-p", f"graph={qg.G4}", "-f", "parquet",
                       "--out", str(out), env=graph_env)
    assert code == 0, err
    assert pd.read_parquet(out).to_dict("records") == [
        {"graph": qg.G4, "src_kind": "input", "src_block": 0, "src_index": 0, "dst_kind": "output",
         "dst_block": 0, "dst_index": 0, "w": 0.5, "d": 2.0}]


def test_json_to_out_file(cli, graph_env, tmp_path):
    out = tmp_path / "jobs.json"
    code, stdout, err = cli("query", "failed-jobs", "-p", "limit=1", "-f", "json", "-o", str(out),
                            env=graph_env)
    assert code == 0, err
    assert stdout == ""
    assert [r["job"] for r in json.loads(out.read_text())] == ["j5"]


def test_own_cypher_with_typed_params(cli, graph_env):
    code, out, err = cli("query", "--cypher",
                         "MATCH (g:Graph) WHERE g.step = $step AND g.sample IN $samples "
                         "RETURN g.gid AS gid ORDER BY gid",
                         "-p", "step=100", "-p", "samples=[0, 2]", "-f", "json", env=graph_env)
    assert code == 0, err
    assert json.loads(out) == [{"gid": qg.G1}, {"gid": qg.G5}]


def _statuses(cli, env) -> list[dict]:
    code, out, err = cli("query", "--cypher",
                         "MATCH (j:Job) RETURN j.jid AS jid, j.status AS status ORDER BY jid",
                         "-f", "json", env=env)
    assert code == 0, err
    return json.loads(out)


def test_own_cypher_write_is_refused_without_write(cli, graph_env):
    before = _statuses(cli, graph_env)
    code, out, err = cli("query", "--cypher", "MATCH (j:Job) SET j.status = $s", "-p", "s=done",
                         env=graph_env)
    assert code == 1
    assert "refused" in err and "--write" in err and "Traceback" not in err
    assert _statuses(cli, graph_env) == before
    code, out, err = cli("query", "--cypher", "MATCH (j:Job) SET j.status = $s", "-p", "s=done",
                         "--write", env=graph_env)
    assert code == 0, err
    assert "properties set: 5" in err
    assert {r["status"] for r in _statuses(cli, graph_env)} == {"done"}


def test_own_cypher_from_a_file(cli, graph_env, tmp_path):
    statement = tmp_path / "q.cypher"
    statement.write_text("MATCH (m:Model)\nWHERE m.hidden > $h\nRETURN m.name AS name\n")
    code, out, err = cli("query", "--cypher", f"@{statement}", "-p", "h=3", "-f", "csv",
                         env=graph_env)
    assert code == 0, err
    assert out.splitlines() == ["name", "tiny"]
    code, out, err = cli("query", "--cypher", f"@{tmp_path / 'missing.cypher'}")
    assert code == 1 and "cannot read the Cypher file" in err


def test_query_error_shows_server_message_and_line(cli, graph_env):
    code, out, err = cli("query", "--cypher", "MATCH (g:Graph)\nRETRUN g.gid", env=graph_env)
    assert code == 1
    assert "RETRUN" in err and "line 2: RETRUN g.gid" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("args, message", [
    (("query", "hub-neuron"), "did you mean hub-neurons"),
    (("query", "hub-neurons", "-p", "limit=lots"), "'lots' is not an integer"),
    (("query", "hub-neurons", "-p", "limitless"), "bad query parameter 'limitless'"),
    (("query", "hub-neurons", "--write"), "--write only applies to --cypher"),
    (("query",), "no query given"),
    (("query", "hub-neurons", "--cypher", "RETURN 1"), "not both"),
])
def test_usage_errors_are_one_line(cli, args, message):
    code, out, err = cli(*args)
    assert code == 1
    assert message in err and "Traceback" not in err
