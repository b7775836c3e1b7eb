"""The graph servers a benchmark runs on, one after the other, each run on a fresh database.

- arcadedb: the local ArcadeDB server of NEUROMFA_HOME (started if needed); each fresh
  database is created for its run and dropped after it.
- neo4j: a local Neo4j of its own in a temporary home on a free port (Community has one
  database, so the user's own local Neo4j is never touched); a fresh database is that one,
  emptied; the server is stopped and its home deleted at the end.

    with bench_server("neo4j") as server:
        with server.fresh() as settings: ...   # DatabaseSettings naming an empty database
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from neuromfa.base.settings import DatabaseSettings, Engine, HomeSettings
from neuromfa.store.connection import connect
from neuromfa.store.neo4j_server import LocalNeo4j
from neuromfa.store.server import LocalServer

SERVERS = tuple(e.value for e in Engine)
# Benchmark-only, in batches (one transaction deleting a large graph passes Neo4j's memory limit).
EMPTY = "MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"


def server_list(text: str) -> list[str]:
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    if not names or set(names) - set(SERVERS):
        raise SystemExit(f"--servers: choose from {', '.join(SERVERS)} (comma separated)")
    return names


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BenchServer:
    def __init__(self, name: str, local: LocalServer):
        self.name, self.local = name, local
        self.admin = None
        if name == Engine.ARCADEDB.value:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
            from arcade_admin import DatabaseAdmin  # the tests' database admin: not shipped

            self.admin = DatabaseAdmin.of(local)

    def settings(self, database: str) -> DatabaseSettings:
        return DatabaseSettings(uri=self.local.uri, username=self.local.username,
                                password=self.local.password(), database=database)

    @contextlib.contextmanager
    def fresh(self, keep: str | None = None) -> Iterator[DatabaseSettings]:
        """An empty database (``keep``: this ArcadeDB database, created if missing, kept)."""
        if self.admin is None:
            with connect(self.local.uri, self.local.username, self.local.password(),
                         self.local.database) as store, store.session() as session:
                session.run(EMPTY).consume()
            yield self.settings(self.local.database)
            return
        name = keep or f"bench_{uuid.uuid4().hex[:8]}"
        if name not in self.admin.list_databases():
            self.admin.create_database(name)
        try:
            yield self.settings(name)
        finally:
            if keep is None:
                self.admin.drop_database(name)


@contextlib.contextmanager
def bench_server(name: str) -> Iterator[BenchServer]:
    if name == Engine.NEO4J.value:
        home = Path(tempfile.mkdtemp(prefix="neuromfa-bench-neo4j-"))
        neo = LocalNeo4j(HomeSettings(home=home, neo4j_port=_free_port()))
        try:
            result = neo.start()
            print(f"[neo4j] a local Neo4j of its own started in {result.seconds:.0f} s", flush=True)
            yield BenchServer(name, neo)
        finally:
            neo.stop()
            shutil.rmtree(home, ignore_errors=True)
        return
    local = LocalServer()
    local.start()
    yield BenchServer(name, local)
