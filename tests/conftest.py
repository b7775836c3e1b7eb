"""Shared fixtures: a real graph server for the session, a fresh database per test.

Server used by the tests:
- NEO4J_URI set: that server. When it is ArcadeDB with its HTTP API at the URI's host and
  NEUROMFA_HTTP_PORT, each test gets its own database; otherwise (Neo4j) each test starts
  by deleting everything in NEO4J_DATABASE, which the fixture only does when that database
  is empty at session start or NEUROMFA_TEST_WIPE=1.
- Otherwise the local server of NEUROMFA_HOME (started if needed; stopped at the end only
  when this session started it). With NEUROMFA_HOME unset the home is a temporary
  directory and the ports are free ones picked now (unless NEUROMFA_*_PORT are set).

Fixtures: ``graph_server`` (session), ``store`` (a Store on a fresh, schema-applied
database), ``db_env`` (a full environment whose NEO4J_* point at the ``store`` database,
for `subprocess` or typer's CliRunner), ``free_port``.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from arcade_admin import DatabaseAdmin

from neuromfa.base.settings import DatabaseSettings, HomeSettings
from neuromfa.store.connection import Store, connect
from neuromfa.store.server import LocalServer

# Test-only statements: the package ships no "delete everything".
WIPE = "MATCH (n) DETACH DELETE n"
COUNT = "MATCH (n) RETURN count(n) AS n"


def pick_free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class GraphServer:
    """How the tests reach the session's graph server."""

    uri: str
    username: str
    password: str
    database: str | None  # the server's main database
    admin: DatabaseAdmin | None  # None: no HTTP API (Neo4j): tests share `database`
    home: Path  # NEUROMFA_HOME for subprocesses
    local: LocalServer | None = None
    env: dict[str, str] = field(default_factory=dict)  # NEUROMFA_* the tests run under
    reader: tuple[str, str] | None = None  # the read-only user (NEO4J_READ_* / the local one)

    def connect(self, database: str | None) -> Store:
        return connect(self.uri, self.username, self.password, database, reader=self.reader)


def _external(tmp_home: Path) -> GraphServer:
    db = DatabaseSettings()
    assert db.uri
    username, password = db.username or "neo4j", db.password or ""
    host = urlsplit(db.uri).hostname or "127.0.0.1"
    admin = DatabaseAdmin(f"http://{host}:{HomeSettings().http_port}", username, password)
    server = GraphServer(db.uri, username, password, db.database,
                         admin if admin.ping() else None,
                         Path(os.environ.get("NEUROMFA_HOME", tmp_home)), reader=db.reader())
    if server.admin is None and os.environ.get("NEUROMFA_TEST_WIPE") != "1":
        with server.connect(db.database) as store:
            if store.read(COUNT)[0]["n"]:
                pytest.exit(f"the tests would delete everything in database "
                            f"{db.database or '(default)'} at {db.uri}; point NEO4J_URI at a "
                            f"scratch database or set NEUROMFA_TEST_WIPE=1", returncode=2)
    return server


@pytest.fixture(scope="session")
def graph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphServer]:
    if os.environ.get("NEO4J_URI"):
        yield _external(tmp_path_factory.mktemp("home"))
        return
    env: dict[str, str] = {}
    if not os.environ.get("NEUROMFA_HOME"):
        env["NEUROMFA_HOME"] = str(tmp_path_factory.mktemp("neuromfa-home"))
        for var in ("NEUROMFA_BOLT_PORT", "NEUROMFA_HTTP_PORT"):
            if not os.environ.get(var):
                env[var] = str(pick_free_port())
    with pytest.MonkeyPatch.context() as mp:
        # In-process code (LocalServer(), open_store()) sees the same server as the tests.
        for key, value in env.items():
            mp.setenv(key, value)
        local = LocalServer(HomeSettings())
        started_here = not local.is_running()
        if started_here:
            local.start()
        try:
            yield GraphServer(local.uri, local.username, local.password(), local.database,
                              DatabaseAdmin.of(local), local.home, local, env, local.reader_credentials())
        finally:
            if started_here:
                local.stop()


@pytest.fixture
def store(graph_server: GraphServer) -> Iterator[Store]:
    """A Store on a fresh, empty database with the schema applied; dropped afterwards."""
    if graph_server.admin is not None:
        name = f"t_{uuid.uuid4().hex[:16]}"
        graph_server.admin.create_database(name)
        try:
            with graph_server.connect(name) as st:
                st.apply_schema()
                yield st
        finally:
            graph_server.admin.drop_database(name)
    else:
        with graph_server.connect(graph_server.database) as st:
            st.write(WIPE)
            st.apply_schema()
            try:
                yield st
            finally:
                st.write(WIPE)


@pytest.fixture
def db_env(store: Store, graph_server: GraphServer) -> dict[str, str]:
    """os.environ plus NEO4J_* naming the ``store`` fixture's database (same data)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}
    env.update(graph_server.env)
    env.update({
        "NEO4J_URI": graph_server.uri,
        "NEO4J_USERNAME": graph_server.username,
        "NEO4J_PASSWORD": graph_server.password,
        "NEUROMFA_HOME": str(graph_server.home),
    })
    if graph_server.reader is not None:
        env["NEO4J_READ_USERNAME"], env["NEO4J_READ_PASSWORD"] = graph_server.reader
    if store.database:
        env["NEO4J_DATABASE"] = store.database
    return env


@pytest.fixture
def free_port() -> int:
    return pick_free_port()
