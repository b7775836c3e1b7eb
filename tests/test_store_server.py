"""The local ArcadeDB server on its own home and ports: start, status, stop, stale pid file,
port taken, databases over the HTTP API."""

from __future__ import annotations

import json
import os
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
