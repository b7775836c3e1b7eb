"""`neuromfa db ...` and the CLI's error handling, run as real subprocesses."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import run_cli

NEUROMFA = [sys.executable, "-m", "neuromfa.cli"]


def run(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(NEUROMFA + args, env=env, capture_output=True, text=True,
                          timeout=timeout)


def assert_one_line_error(proc: subprocess.CompletedProcess, message: str, hint: str) -> None:
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2, proc.stderr
    assert lines[0].startswith("error: ") and message in lines[0]
    assert lines[1].startswith("  hint: ") and hint in lines[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def local_env(tmp_path: Path) -> dict[str, str]:
    """An environment for a second local server: own home and ports, no NEO4J_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "NEUROMFA_"))}
    env.update(NEUROMFA_HOME=str(tmp_path / "home"), NEUROMFA_BOLT_PORT=str(_free_port()),
               NEUROMFA_HTTP_PORT=str(_free_port()), NEUROMFA_DB_MEMORY="512m")
    return env


def test_db_start_status_stop(local_env: dict[str, str]) -> None:
    home = Path(local_env["NEUROMFA_HOME"])
    bolt = local_env["NEUROMFA_BOLT_PORT"]
    st = run(["db", "status"], local_env)
    assert st.returncode == 1 and "stopped" in st.stdout and "reachable: no" in st.stdout
    try:
        up = run(["db", "start"], local_env)
        assert up.returncode == 0, up.stderr
        assert "starting the local graph server in" in up.stdout
        assert f"running at bolt://127.0.0.1:{bolt}" in up.stdout
        again = run(["db", "start"], local_env)
        assert again.returncode == 0 and "already running" in again.stdout

        st = run(["db", "status"], local_env)
        assert st.returncode == 0, st.stdout + st.stderr
        assert "running" in st.stdout and "reachable: yes" in st.stdout
        assert f"bolt://127.0.0.1:{bolt}" in st.stdout
        assert "database:  neurons" in st.stdout
        assert str(home / "arcadedb") in st.stdout
        pid = (home / "arcadedb.pid").read_text()
        assert pid and "pid:" in st.stdout

        schema = run(["db", "schema"], local_env)
        assert schema.returncode == 0, schema.stderr
        assert "constraint neuron_uid" in schema.stdout and "index job_status" in schema.stdout
    finally:
        down = run(["db", "stop"], local_env)
    assert down.returncode == 0 and "stopped the local graph server" in down.stdout
    st = run(["db", "status"], local_env)
    assert st.returncode == 1 and "stopped" in st.stdout
    assert run(["db", "stop"], local_env).stdout.strip() == "the local graph server is not running"


def test_command_needing_database_starts_local_server_and_says_so(
        local_env: dict[str, str]) -> None:
    try:
        proc = run(["db", "schema"], local_env)
        assert proc.returncode == 0, proc.stderr
        assert "starting the local graph server in" in proc.stderr
        assert "first start takes a few seconds" in proc.stderr
    finally:
        run(["db", "stop"], local_env)


def test_port_taken_message(local_env: dict[str, str]) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", int(local_env["NEUROMFA_BOLT_PORT"])))
        blocker.listen()
        proc = run(["db", "start"], local_env)
    assert_one_line_error(proc, f"Bolt port {local_env['NEUROMFA_BOLT_PORT']} on 127.0.0.1 is "
                          "already in use", "NEUROMFA_BOLT_PORT")


def test_wrong_password_one_line_error(db_env: dict[str, str]) -> None:
    env = dict(db_env, NEO4J_PASSWORD=db_env["NEO4J_PASSWORD"] + "-wrong")
    proc = run(["db", "schema"], env)
    assert_one_line_error(proc, f"the graph database at {db_env['NEO4J_URI']} refused the "
                          "credentials", "NEO4J_PASSWORD")


def test_server_down_one_line_error(db_env: dict[str, str], free_port: int) -> None:
    env = dict(db_env, NEO4J_URI=f"bolt://127.0.0.1:{free_port}")
    proc = run(["db", "schema"], env, timeout=60)
    assert_one_line_error(proc, f"cannot reach the graph database at bolt://127.0.0.1:{free_port}",
                          "start it with `neuromfa db start` or check NEO4J_URI")


def test_status_with_neo4j_uri(db_env: dict[str, str], free_port: int) -> None:
    ok = run(["db", "status"], db_env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"NEO4J_URI {db_env['NEO4J_URI']}" in ok.stdout and "reachable: yes" in ok.stdout
    assert db_env["NEO4J_DATABASE"] in ok.stdout
    down = run(["db", "status"], dict(db_env, NEO4J_URI=f"bolt://127.0.0.1:{free_port}"))
    assert down.returncode == 1 and "reachable: no (cannot reach" in down.stdout


def test_schema_command_on_fresh_database(db_env: dict[str, str], store) -> None:
    proc = run(["db", "schema"], db_env)
    assert proc.returncode == 0, proc.stderr
    assert f"database {db_env['NEO4J_DATABASE']}" in proc.stdout
    names = {c["name"] for c in store.schema()["constraints"]}
    for name in names:
        assert f"constraint {name}:" in proc.stdout


def test_invalid_setting_one_line_error(local_env: dict[str, str]) -> None:
    proc = run(["db", "status"], dict(local_env, NEUROMFA_BOLT_PORT="seven"))
    assert_one_line_error(proc, "invalid setting: NEUROMFA_BOLT_PORT", "environment variable")


def test_help_lists_commands_and_usage_errors_print_normally(local_env: dict[str, str], monkeypatch,
                                                             capsys) -> None:
    """`--help` as a real process; the rest through the same entry point in this process."""
    top = run(["--help"], local_env)
    assert top.returncode == 0 and "db" in top.stdout
    code, out, err = run_cli(monkeypatch, capsys, local_env)
    assert code in (0, 2) and "Usage" in out + err
    for sub in (["db"], ["db", "start"], ["db", "stop"], ["db", "status"], ["db", "schema"]):
        code, out, _ = run_cli(monkeypatch, capsys, local_env, *sub, "--help")
        assert code == 0 and "Usage" in out, sub
    code, _, err = run_cli(monkeypatch, capsys, local_env, "db", "--bogus")
    assert code == 2 and "No such option" in err and "Traceback" not in err
    code, _, err = run_cli(monkeypatch, capsys, local_env, "nope")
    assert code == 2 and "No such command" in err


@pytest.mark.servers("neo4j")
def test_db_commands_with_engine_neo4j(graph_server, local_env: dict[str, str]) -> None:
    """`--engine neo4j` and NEUROMFA_ENGINE=neo4j on the session's local Neo4j (no NEO4J_URI):
    start finds it running, status shows it, a command uses it; stop on a home without one."""
    env = dict(local_env, NEUROMFA_HOME=str(graph_server.home),
               NEUROMFA_NEO4J_PORT=str(graph_server.local.bolt_port))
    up = run(["db", "start", "--engine", "neo4j"], env)
    assert up.returncode == 0, up.stderr
    assert "the local Neo4j server is already running" in up.stdout
    assert f"at {graph_server.uri}, database neo4j" in up.stdout
    st = run(["db", "status", "--engine", "neo4j"], env)
    assert st.returncode == 0, st.stdout + st.stderr
    assert "server:    local Neo4j, running" in st.stdout and "reachable: yes" in st.stdout
    assert "read-only: READ sessions, which Neo4j enforces" in st.stdout
    assert str(graph_server.home / "neo4j" / "dbms") in st.stdout
    default = run(["db", "status"], env)  # without --engine or NEUROMFA_ENGINE: ArcadeDB
    assert "server:    local ArcadeDB" in default.stdout
    schema = run(["db", "schema"], dict(env, NEUROMFA_ENGINE="neo4j"))
    assert schema.returncode == 0, schema.stderr
    assert f"schema applied to {graph_server.uri}, database neo4j" in schema.stdout
    assert "starting" not in schema.stderr  # it runs already: nothing to say
    stop = run(["db", "stop", "--engine", "neo4j"], local_env)
    assert stop.returncode == 0 and stop.stdout.strip() == "the local Neo4j server is not running"
    bad = run(["db", "status"], dict(local_env, NEUROMFA_ENGINE="oracle"))
    assert_one_line_error(bad, "invalid setting: NEUROMFA_ENGINE", "environment variable")
