"""Shared fixtures: a real graph server for the session, a fresh database per test.

Server used by the tests:
- NEO4J_URI set: that server. When it is ArcadeDB with its HTTP API at the URI's host and
  NEUROMFA_HTTP_PORT, each test gets its own database; otherwise (Neo4j) each test starts
  by deleting everything in NEO4J_DATABASE, which the fixture only does when that database
  is empty at session start or NEUROMFA_TEST_WIPE=1.
- Otherwise the local servers of NEUROMFA_HOME, each test that uses a database once per
  server: ``--server arcadedb|neo4j|both`` (or NEUROMFA_TEST_SERVERS; default both) picks
  them, and the test ids say which (``test_x[arcadedb]``, ``test_x[neo4j]``). Each is started
  if needed and stopped at the end only when this session started it; pytest runs every
  test of one server before starting the next. With NEUROMFA_HOME unset the home is a
  temporary directory and the ports are free ones picked now (unless NEUROMFA_*_PORT are
  set). ArcadeDB gives each test its own database; Neo4j Community has one, which each test
  starts by emptying.

Fixtures: ``graph_server`` (session), ``store`` (a Store on a fresh, schema-applied
database; ``module_store``: one per module), ``db_env`` (a full environment whose NEO4J_* point at the ``store`` database,
for `subprocess` or typer's CliRunner), ``free_port``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from arcade_admin import DatabaseAdmin

from neuromfa.base.settings import DatabaseSettings, Engine, HomeSettings
from neuromfa.store.connection import Store, connect
from neuromfa.store.neo4j_server import LocalNeo4j
from neuromfa.store.server import LocalServer

# Test-only statements: the package ships no "delete everything". The fixture's in batches: one
# transaction deleting a large test graph would pass Neo4j's transaction memory limit.
WIPE = "MATCH (n) DETACH DELETE n"
WIPE_BATCHED = "MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"
COUNT = "MATCH (n) RETURN count(n) AS n"


SERVERS = tuple(e.value for e in Engine)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--server", choices=[*SERVERS, "both"], default=None,
                     help="local graph server(s) the database tests run on (default: "
                          "NEUROMFA_TEST_SERVERS, else both); ignored when NEO4J_URI is set")


def selected_servers(config: pytest.Config) -> list[str]:
    """The local servers to run on: --server, else NEUROMFA_TEST_SERVERS (comma separated)."""
    choice = config.getoption("--server") or os.environ.get("NEUROMFA_TEST_SERVERS") or "both"
    names = [n.strip().lower() for n in choice.split(",") if n.strip()]
    if names == ["both"]:
        return list(SERVERS)
    unknown = sorted(set(names) - set(SERVERS))
    if unknown or not names:
        raise pytest.UsageError(f"NEUROMFA_TEST_SERVERS: unknown server(s) {unknown}; "
                                f"use {', '.join(SERVERS)} or both")
    return list(dict.fromkeys(names))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # One run per local server for every test that reaches a database (through `store`,
    # `db_env` or `graph_server`); an external NEO4J_URI server is the only one.
    # @pytest.mark.servers("neo4j") keeps a test to some of them.
    if "graph_server" in metafunc.fixturenames and not os.environ.get("NEO4J_URI"):
        servers = selected_servers(metafunc.config)
        marker = metafunc.definition.get_closest_marker("servers")
        if marker is not None:
            servers = [s for s in servers if s in marker.args]
        metafunc.parametrize("graph_server", servers, indirect=True, scope="session")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "servers(*names): run only on these local servers")


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
    name: str = "external"  # arcadedb, neo4j (local servers) or external (NEO4J_URI)
    schema_applied: bool = False  # on the shared database (Neo4j): once per session

    def connect(self, database: str | None) -> Store:
        return connect(self.uri, self.username, self.password, database, reader=self.reader)

    def data_folder(self, database: str) -> Path | None:
        """Where a local server keeps the files of ``database`` (None: not local)."""
        if isinstance(self.local, LocalNeo4j):
            return self.local.root / "data" / "databases" / database
        if self.local is not None:
            return self.local.root / "databases" / database
        return None


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
def graph_server(request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphServer]:
    if os.environ.get("NEO4J_URI"):
        yield _external(tmp_path_factory.mktemp("home"))
        return
    engine = Engine(getattr(request, "param", Engine.ARCADEDB.value))
    env: dict[str, str] = {"NEUROMFA_ENGINE": engine.value}
    if not os.environ.get("NEUROMFA_HOME"):
        env["NEUROMFA_HOME"] = str(tmp_path_factory.mktemp(f"neuromfa-home-{engine.value}"))
        ports = (("NEUROMFA_NEO4J_PORT",) if engine is Engine.NEO4J
                 else ("NEUROMFA_BOLT_PORT", "NEUROMFA_HTTP_PORT"))
        for var in ports:
            if not os.environ.get(var):
                env[var] = str(pick_free_port())
    with pytest.MonkeyPatch.context() as mp:
        # In-process code (local_server(), open_store()) sees the same server as the tests.
        for key, value in env.items():
            mp.setenv(key, value)
        local = LocalNeo4j(HomeSettings()) if engine is Engine.NEO4J else LocalServer(HomeSettings())
        started_here = not local.is_running()
        if started_here:
            local.start()
        admin = None if isinstance(local, LocalNeo4j) else DatabaseAdmin.of(local)
        try:
            yield GraphServer(local.uri, local.username, local.password(), local.database,
                              admin, local.home, local, env, local.reader_credentials(),
                              name=engine.value)
        finally:
            if started_here:
                local.stop()


def wipe(store: Store) -> None:
    """Delete every node (CALL IN TRANSACTIONS runs only in an auto-commit transaction)."""
    with store.session() as session:
        session.run(WIPE_BATCHED).consume()


@contextlib.contextmanager
def fresh_store(graph_server: GraphServer) -> Iterator[Store]:
    """A Store on a fresh, empty database with the schema applied; dropped (emptied) after."""
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
            wipe(st)
            # A wipe deletes nodes only, so the schema stays: its 11 statements again before
            # every test cost about 0.07 s each (~20 s over the Neo4j tests)
            if not graph_server.schema_applied:
                st.apply_schema()
                graph_server.schema_applied = True
            try:
                yield st
            finally:
                wipe(st)


def env_of(store: Store, graph_server: GraphServer) -> dict[str, str]:
    """os.environ plus NEO4J_* naming ``store``'s database (same data)."""
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
def store(graph_server: GraphServer) -> Iterator[Store]:
    """A Store on a fresh, empty database with the schema applied; dropped afterwards."""
    with fresh_store(graph_server) as st:
        yield st


@pytest.fixture(scope="module")
def module_store(graph_server: GraphServer) -> Iterator[Store]:
    """``store`` shared by a module's tests: for tests that each check they changed nothing."""
    with fresh_store(graph_server) as st:
        yield st


@pytest.fixture
def db_env(store: Store, graph_server: GraphServer) -> dict[str, str]:
    """os.environ plus NEO4J_* naming the ``store`` fixture's database (same data)."""
    return env_of(store, graph_server)


@pytest.fixture(scope="module")
def module_db_env(module_store: Store, graph_server: GraphServer) -> dict[str, str]:
    """``db_env`` of ``module_store``."""
    return env_of(module_store, graph_server)


@pytest.fixture
def free_port() -> int:
    return pick_free_port()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per server: how many database tests passed and failed on it (the ids carry
    the server, ``test_x[neo4j]``), so even ``pytest -q`` shows both runs."""
    counts: dict[str, dict[str, int]] = {}
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            if getattr(report, "when", "call") != "call" and outcome == "passed":
                continue
            server = next((s for s in (*SERVERS, "external")
                           if f"[{s}]" in report.nodeid or f"[{s}-" in report.nodeid
                           or f"-{s}]" in report.nodeid or f"-{s}-" in report.nodeid), None)
            if server is not None:
                counts.setdefault(server, {}).setdefault(outcome, 0)
                counts[server][outcome] += 1
    for server, by in counts.items():
        text = ", ".join(f"{n} {o}" for o, n in by.items())
        terminalreporter.write_line(f"database tests on {server}: {text}")
