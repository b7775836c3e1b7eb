"""The local ArcadeDB server on its own home and ports: start, status, stop, stale pid file,
port taken, databases over the HTTP API. The local Neo4j: the session's server, and the
starts that fail before a JVM runs (port taken, password lost, no Java or Maven)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from arcade_admin import DatabaseAdmin

from neuromfa.base.errors import DatabaseError
from neuromfa.base.settings import DatabaseSettings, HomeSettings
from neuromfa.cli.console import error_lines
from neuromfa.store.connection import connect, open_store
from neuromfa.store.neo4j_server import LocalNeo4j, launcher_source, source_hash
from neuromfa.store.server import LocalServer, State
from neuromfa.store.statements import cypher


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server(home: Path) -> LocalServer:
    return LocalServer(HomeSettings(home=home, bolt_port=_free_port(), http_port=_free_port(),
                                    db_memory="512m"))


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    server = _server(tmp_path_factory.mktemp("server-home"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_running_server_status_and_files(running: LocalServer) -> None:
    st = running.status()
    assert st.state is State.RUNNING and st.reachable
    assert st.pid == json.loads(running.pid_file.read_text())["pid"]
    assert st.data_dir == running.home / "arcadedb"
    assert (st.data_dir / "databases" / "neurons").is_dir()
    assert stat.S_IMODE(os.stat(running.password_file).st_mode) == 0o600
    assert len(running.password()) >= 8
    assert running.log_file.stat().st_size > 0


def test_password_not_on_command_line(running: LocalServer) -> None:
    cmdline = " ".join(psutil.Process(running.pid()).cmdline())
    assert running.password() not in cmdline
    assert not (running.home / "arcadedb.args").exists()  # argument file removed after start


def test_listens_on_loopback_only(running: LocalServer) -> None:
    ports = {c.laddr.port: c.laddr.ip for c in psutil.Process(running.pid()).net_connections()
             if c.status == psutil.CONN_LISTEN}
    loopback = {"127.0.0.1", "::ffff:127.0.0.1"}  # a Java socket may report the v4-mapped form
    assert ports[running.bolt_port] in loopback
    assert ports[running.http_port] in loopback


def test_start_again_is_noop(running: LocalServer) -> None:
    pid = running.pid()
    result = running.start()
    assert result.already_running and result.pid == pid


def test_create_and_drop_database_over_http(running: LocalServer) -> None:
    admin = DatabaseAdmin.of(running)
    admin.create_database("t_extra")
    assert "t_extra" in admin.list_databases()
    with connect(running.uri, "root", running.password(), "t_extra") as store:
        store.write("CREATE (:Model {name: 'x'})")
        assert store.read("MATCH (m:Model) RETURN m.name AS n") == [{"n": "x"}]
    with connect(running.uri, "root", running.password(), "neurons") as store:
        assert store.read("MATCH (m:Model {name: 'x'}) RETURN count(m) AS n") == [{"n": 0}]
    admin.drop_database("t_extra")
    assert "t_extra" not in admin.list_databases()
    with pytest.raises(DatabaseError, match="does not exist"):
        admin.drop_database("t_extra")
    with pytest.raises(DatabaseError, match="main database"):
        admin.drop_database("neurons")


def test_port_taken_by_another_program(running: LocalServer, tmp_path: Path) -> None:
    other = LocalServer(HomeSettings(home=tmp_path, bolt_port=running.bolt_port,
                                     http_port=_free_port()))
    with pytest.raises(DatabaseError) as err:
        other.start(timeout=20)
    assert f"Bolt port {running.bolt_port} on 127.0.0.1 is already in use" in err.value.message
    assert "NEUROMFA_BOLT_PORT" in err.value.hint
    assert not other.pid_file.exists()


def test_http_port_taken(tmp_path: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        server = LocalServer(HomeSettings(home=tmp_path, bolt_port=_free_port(), http_port=port))
        with pytest.raises(DatabaseError) as err:
            server.start(timeout=20)
    assert f"HTTP port {port}" in err.value.message and "NEUROMFA_HTTP_PORT" in err.value.hint


def test_stale_pid_file_then_start_and_stop(tmp_path: Path) -> None:
    server = _server(tmp_path)
    assert server.status().state is State.STOPPED
    dead = psutil.Popen(["true"])
    dead.wait()
    server.home.mkdir(parents=True, exist_ok=True)
    server.pid_file.write_text(json.dumps({"pid": dead.pid}))
    st = server.status()
    assert st.state is State.STALE and not st.reachable

    t0 = time.monotonic()
    result = server.start()
    started = time.monotonic() - t0
    assert not result.already_running and server.status().state is State.RUNNING
    with connect(server.uri, "root", server.password(), "neurons") as store:
        store.write("CREATE (:Model {name: 'kept'})")

    pid = server.pid()
    t0 = time.monotonic()
    assert server.stop() is True
    stopped = time.monotonic() - t0
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert server.status().state is State.STOPPED and not server.pid_file.exists()
    assert server.stop() is False
    print(f"start {started:.1f} s, stop {stopped:.1f} s")

    server.start()  # the data survives a restart with the stored password
    try:
        with connect(server.uri, "root", server.password(), "neurons") as store:
            assert store.read("MATCH (m:Model) RETURN m.name AS n") == [{"n": "kept"}]
    finally:
        server.stop()


def test_missing_password_file_with_existing_data(tmp_path: Path) -> None:
    server = _server(tmp_path)
    (server.root / "config").mkdir(parents=True)
    (server.root / "config" / "server-users.jsonl").write_text("{}\n")
    with pytest.raises(DatabaseError) as err:
        server.start(timeout=20)
    assert "password file" in err.value.message and "delete" in err.value.hint


def test_running_server_keeps_its_ports(running: LocalServer) -> None:
    same_home = LocalServer(HomeSettings(home=running.home, bolt_port=_free_port(),
                                         http_port=_free_port()))
    assert same_home.is_running()
    assert same_home.uri == running.uri and same_home.http_url == running.http_url


def test_open_store_uses_running_local_server_without_notice(running: LocalServer) -> None:
    notices: list[str] = []
    with open_store(DatabaseSettings(uri=None), server=running, notify=notices.append) as st:
        assert (st.uri, st.database) == (running.uri, "neurons")
        assert st.read(cypher("ping")) == [{"ok": 1}]
    assert notices == []


def test_open_store_without_autostart_on_stopped_server(tmp_path: Path) -> None:
    server = _server(tmp_path)
    with pytest.raises(DatabaseError) as err:
        open_store(DatabaseSettings(uri=None), autostart=False, server=server)
    assert err.value.message == "the local graph server is not running"
    assert "LocalServer().start()" in err.value.hint and "`neuromfa db start`" in error_lines(err.value)[1]
    assert server.status().state is State.STOPPED


# -- the local Neo4j (store/neo4j_server.py): the session's server, and starts that fail early --

def _neo4j(home: Path, port: int | None = None) -> LocalNeo4j:
    return LocalNeo4j(HomeSettings(home=home, neo4j_port=port or _free_port()))


@pytest.mark.servers("neo4j")
def test_local_neo4j_status_files_and_process(graph_server) -> None:
    """The session's local Neo4j: private files, password neither on the command line nor
    accepted wrong, Bolt on the loopback address only, a second start a no-op."""
    neo = graph_server.local
    assert isinstance(neo, LocalNeo4j)
    st = neo.status()
    assert st.state is State.RUNNING and st.reachable and st.data_dir == neo.home / "neo4j" / "dbms"
    for path in (neo.password_file, neo.pid_file, neo.log_file):
        assert stat.S_IMODE(os.lstat(path).st_mode) == 0o600, path
    for folder in (neo.base, neo.root, neo.root / "data"):
        assert stat.S_IMODE(os.lstat(folder).st_mode) == 0o700, folder
    proc = psutil.Process(neo.pid())
    assert neo.password() not in " ".join(proc.cmdline())
    listening = {c.laddr.port: c.laddr.ip for c in proc.net_connections()
                 if c.status == psutil.CONN_LISTEN}
    assert listening == {neo.bolt_port: listening[neo.bolt_port]}  # Bolt only: no HTTP
    assert listening[neo.bolt_port] in {"127.0.0.1", "::ffff:127.0.0.1"}
    with pytest.raises(DatabaseError, match="refused the credentials"):
        connect(neo.uri, "neo4j", "neo4j", None)  # the default password was never served
    with connect(neo.uri, "neo4j", neo.password(), None) as store:
        assert store.server_agent().startswith("Neo4j/5.26")
        assert store.enforces_read_sessions()
    again = neo.start()
    assert again.already_running and again.pid == proc.pid


def test_local_neo4j_port_taken(tmp_path: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        server = _neo4j(tmp_path, port)
        with pytest.raises(DatabaseError) as err:
            server.start(timeout=20)
    assert f"Bolt port {port}" in err.value.message and "NEUROMFA_NEO4J_PORT" in err.value.hint
    assert not server.pid_file.exists()


def test_local_neo4j_missing_password_file_with_existing_data(tmp_path: Path) -> None:
    server = _neo4j(tmp_path)
    server.root.mkdir(parents=True)
    (server.root / "neuromfa-password-set").write_text("1\n")
    with pytest.raises(DatabaseError) as err:
        server.start(timeout=20)
    assert "password file" in err.value.message and "delete" in err.value.hint


@pytest.mark.parametrize("tool", ["java", "mvn"])
def test_local_neo4j_without_java_or_maven(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            tool: str) -> None:
    """A launcher that is not built yet needs both; a missing one is one line naming it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    other = {"java": "mvn", "mvn": "java"}[tool]
    found = shutil.which(other)
    assert found is not None
    (bin_dir / other).symlink_to(found)
    monkeypatch.setenv("PATH", str(bin_dir))
    server = LocalNeo4j(HomeSettings(home=tmp_path / "home", neo4j_port=_free_port()),
                        cache=tmp_path / "cache")
    with pytest.raises(DatabaseError) as err:
        server.start(timeout=20)
    assert f"`{tool}` is not on PATH" in err.value.message
    assert ("JDK" if tool == "java" else "Maven") in err.value.message
    assert "apt-get install" in err.value.hint
    assert not server.pid_file.exists()


def test_launcher_cache_key_follows_its_sources(tmp_path: Path) -> None:
    source = launcher_source()
    copy = tmp_path / "neo4j"
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("target"))
    assert source_hash(copy) == source_hash(source)
    java = next(copy.rglob("LocalNeo4j.java"))
    java.write_text(java.read_text() + "\n// changed\n")
    assert source_hash(copy) != source_hash(source)
