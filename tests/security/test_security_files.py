"""Private files under NEUROMFA_HOME (0700/0600, data files included, no symlink followed), a
home from an older version upgraded (read-only user, modes), credentials never echoed."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from neo4j.exceptions import ServiceUnavailable

from neuromfa.base.errors import ConfigError, DatabaseError
from neuromfa.base.settings import DatabaseSettings, HomeSettings, redact_uri
from neuromfa.queries import run_cypher
from neuromfa.store.connection import connect, open_store, translate
from neuromfa.store.server import READER_GROUP, READER_USER, LocalServer, write_private

SECRET = "s3cret-Pa55"
NEUROMFA = [sys.executable, "-m", "neuromfa.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(server: LocalServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "NEUROMFA_"))}
    env.update(NEUROMFA_HOME=str(server.home), NEUROMFA_BOLT_PORT=str(server.bolt_port),
               NEUROMFA_HTTP_PORT=str(server.http_port), NEUROMFA_DB_MEMORY="512m")
    return env


def _modes(home: Path) -> dict[str, int]:
    """Mode of every entry under ``home`` (and of home), by path relative to it."""
    out = {".": stat.S_IMODE(os.lstat(home).st_mode)}
    for folder, dirs, files in os.walk(home):
        for name in [*dirs, *files]:
            path = Path(folder, name)
            out[str(path.relative_to(home))] = stat.S_IMODE(os.lstat(path).st_mode)
    return out


def _assert_private(home: Path) -> None:
    modes = _modes(home)
    wide = {p: oct(m) for p, m in modes.items()
            if m != (0o700 if (home / p).is_dir() else 0o600)}
    assert not wide, wide
    assert any(p.startswith("arcadedb/databases/neurons/") for p in modes)  # data files seen


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    srv = LocalServer(HomeSettings(home=tmp_path_factory.mktemp("private") / "home",
                                   bolt_port=_free_port(), http_port=_free_port(),
                                   db_memory="512m"))
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def _read_as_reader(server: LocalServer) -> int:
    with open_store(DatabaseSettings(uri=None), server=server, read_only=True) as store:
        assert store.read_only and store.username == READER_USER
        return int(run_cypher("MATCH (n) RETURN count(n) AS n", store=store).n[0])


def test_fresh_home_is_private_data_files_included(server: LocalServer) -> None:
    with connect(server.uri, "root", server.password(), "neurons") as store:
        store.write("CREATE (:Model {name: 'private'})")  # makes data files of a new type
    _assert_private(server.home)
    assert stat.S_IMODE(os.stat(server.reader_password_file).st_mode) == 0o600


def test_the_reader_user_exists_and_only_reads(server: LocalServer) -> None:
    admin = server.admin()
    assert {u["name"]: u["databases"] for u in admin.users()}[READER_USER] == {"*": [READER_GROUP]}
    assert admin.groups()[READER_GROUP]["types"] == {"*": {"access": ["readRecord"]}}
    assert _read_as_reader(server) >= 0
    with open_store(DatabaseSettings(uri=None), server=server, read_only=True) as store:
        with pytest.raises(DatabaseError, match="refused"):
            run_cypher("CREATE (:Sneaky)", store=store)


def test_running_server_of_an_older_version_gets_the_reader(server: LocalServer) -> None:
    """No reader user and no reader-password file, server running: the next open adds them."""
    server.admin()._call(f"/api/v1/server/users?name={READER_USER}", None, "drop user",
                         method="DELETE")
    server.reader_password_file.unlink()
    assert READER_USER not in {u["name"] for u in server.admin().users()}
    assert _read_as_reader(server) >= 0
    assert READER_USER in {u["name"] for u in server.admin().users()}
    assert stat.S_IMODE(os.stat(server.reader_password_file).st_mode) == 0o600


def test_stopped_home_of_an_older_version_is_upgraded_at_start(server: LocalServer) -> None:
    """Wide modes, no reader group/user/password (what an older version left): a start
    tightens every mode and sets the reader up again."""
    server.stop()
    config = server.root / "config"
    users = [ln for ln in (config / "server-users.jsonl").read_text().splitlines()
             if READER_USER not in ln]
    (config / "server-users.jsonl").write_text("\n".join(users) + "\n")
    groups = json.loads((config / "server-groups.json").read_text())
    del groups["databases"]["*"]["groups"][READER_GROUP]
    (config / "server-groups.json").write_text(json.dumps(groups))
    server.reader_password_file.unlink()
    for folder, dirs, files in os.walk(server.home):
        for d in dirs:
            os.chmod(Path(folder, d), 0o755)
        for f in files:
            os.chmod(Path(folder, f), 0o644)
    os.chmod(server.home, 0o755)

    server.start()
    _assert_private(server.home)
    assert server.admin().groups()[READER_GROUP]["types"] == {"*": {"access": ["readRecord"]}}
    assert _read_as_reader(server) >= 0


# -- symbolic links are never followed -------------------------------------------------------

@pytest.fixture
def stopped(tmp_path: Path) -> LocalServer:
    return LocalServer(HomeSettings(home=tmp_path / "home", bolt_port=_free_port(),
                                    http_port=_free_port(), db_memory="512m"))


@pytest.mark.parametrize("name", ["arcadedb.args", "root-password", "arcadedb.log",
                                  "arcadedb.lock"])
def test_a_planted_symlink_is_refused_and_its_target_untouched(stopped: LocalServer,
                                                                tmp_path: Path, name: str) -> None:
    stopped.home.mkdir(parents=True)
    target = tmp_path / "target"
    target.write_text("original\n")
    os.chmod(target, 0o644)
    (stopped.home / name).symlink_to(target)
    proc = subprocess.run(NEUROMFA + ["db", "start"], env=_env(stopped), capture_output=True,
                          text=True, timeout=120)
    try:
        assert proc.returncode == 1, proc.stdout + proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert lines[0] == f"error: refusing to use {stopped.home / name}: it is a symbolic link"
        assert len(lines) == 2 and "Traceback" not in proc.stderr
        assert target.read_text() == "original\n"  # no password written into it
        assert stat.S_IMODE(os.stat(target).st_mode) == 0o644
    finally:
        (stopped.home / name).unlink()
        stopped.stop()  # in case it started after all


def test_a_symlinked_pid_file_is_not_followed(stopped: LocalServer, tmp_path: Path) -> None:
    """Read: not followed (a stale pid file, which a start replaces); written: refused."""
    target = tmp_path / "target"
    target.write_text(json.dumps({"pid": os.getpid()}))
    stopped.home.mkdir(parents=True)
    stopped.pid_file.symlink_to(target)
    assert stopped.status(check_bolt=False).state.value == "stale pid file"
    with pytest.raises(DatabaseError, match="symbolic link"):
        write_private(stopped.pid_file, "{}")
    assert json.loads(target.read_text()) == {"pid": os.getpid()}


def test_a_symlinked_reader_password_is_refused(stopped: LocalServer, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    stopped.home.mkdir(parents=True)
    stopped.reader_password_file.symlink_to(target)  # dangling: would be created through it
    with pytest.raises(DatabaseError, match="symbolic link"):
        stopped.reader_password()
    assert not target.exists()


def test_a_symlinked_home_folder_inside_is_refused(stopped: LocalServer, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    stopped.home.mkdir(parents=True)
    stopped.root.symlink_to(elsewhere)
    with pytest.raises(DatabaseError, match="symbolic link"):
        stopped.start(timeout=20)
    assert not any(elsewhere.iterdir()) and not stopped.is_running()


# -- credentials are never echoed ------------------------------------------------------------

def test_redact_uri() -> None:
    assert redact_uri(f"bolt://neo4j:{SECRET}@db.example:7687") == "bolt://***@db.example:7687"
    assert redact_uri("neo4j+s://db.example") == "neo4j+s://db.example"
    assert SECRET not in redact_uri(f"bolt://u:{SECRET}@[::1")


def test_uri_with_credentials_is_redacted_in_every_error() -> None:
    uri = f"bolt://neo4j:{SECRET}@127.0.0.1:{_free_port()}"
    with pytest.raises(DatabaseError) as err:
        connect(uri, "neo4j", "pw", None)
    assert SECRET not in str(err.value) and "***@127.0.0.1" in str(err.value)
    with pytest.raises(DatabaseError) as err:
        open_store(DatabaseSettings(uri=uri))
    assert SECRET not in str(err.value)
    with pytest.raises(ConfigError) as err:
        connect(f"http://neo4j:{SECRET}@host:7474", "neo4j", "pw", None)
    assert SECRET not in str(err.value) and "***@host" in str(err.value)
    down = translate(ServiceUnavailable(f"cannot connect to {uri}"), uri, "neo4j")
    assert SECRET not in str(down)


def test_db_status_never_shows_the_password(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}
    env.update(NEO4J_URI=f"bolt://neo4j:{SECRET}@127.0.0.1:{_free_port()}",
               NEO4J_PASSWORD=SECRET, NEUROMFA_HOME=str(tmp_path / "home"))
    proc = subprocess.run(NEUROMFA + ["db", "status"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1
    assert SECRET not in proc.stdout + proc.stderr
    assert "NEO4J_URI bolt://***@127.0.0.1" in proc.stdout
