"""A database fingerprint for the adversarial tests, and the canary graph they attack."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import neo4j
import query_graph as qg
from neo4j import GraphDatabase

from neuromfa.store.connection import Store

CANARY = "CREATE (:Canary {v: 1, name: 'a'}), (:Canary {v: 2, name: 'b'})-[:PECKS {w: 0.5}]->(:Canary {v: 3})"


def load_canary_graph(store: Store) -> None:
    """The named-query fixture graph plus a few Canary nodes with known values."""
    qg.load(store)
    store.write(CANARY)


def _digest(rows: list[Any]) -> str:
    return hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class Fingerprint:
    nodes: int
    relationships: int
    labels: tuple[str, ...]
    relationship_types: tuple[str, ...]
    types: tuple[tuple[str, str], ...]  # ArcadeDB's own types (made for every new label)
    indexes: tuple[str, ...]
    constraints: tuple[str, ...]
    properties: str  # checksum of every node's labels + properties and every relationship's
    files: tuple[str, ...]  # the database's files on disk (local server only)


# Neo4j's SHOW INDEXES counts reads: a read changes these, a write need not.
READ_STATS = ("lastRead", "readCount")


def fingerprint(store: Store, graph_server: Any) -> Fingerprint:
    """Everything a write could change, read as root."""
    nodes = store.read("MATCH (n) RETURN labels(n) AS l, properties(n) AS p")
    rels = store.read("MATCH (a)-[r]->(b) RETURN type(r) AS t, properties(r) AS p, "
                      "properties(a) AS a, properties(b) AS b")
    node_rows = sorted(json.dumps([sorted(r["l"]), r["p"]], sort_keys=True, default=str)
                       for r in nodes)
    rel_rows = sorted(json.dumps([r["t"], r["p"], r["a"], r["b"]], sort_keys=True, default=str)
                      for r in rels)
    labels = store.read("CALL db.labels() YIELD label RETURN label")
    rtypes = store.read("CALL db.relationshipTypes() YIELD relationshipType RETURN relationshipType AS t")
    schema = store.schema()
    types: tuple[tuple[str, str], ...] = ()
    files: tuple[str, ...] = ()
    if graph_server.admin is not None and store.database:
        types = tuple((t["name"], t["type"]) for t in graph_server.admin.types(store.database))
    folder = graph_server.data_folder(store.database) if store.database else None
    if folder is not None:
        files = tuple(sorted(p.name for p in folder.iterdir()
                             if not p.name.endswith(".wal")))  # WAL files come and go
    return Fingerprint(
        nodes=len(nodes), relationships=len(rels),
        labels=tuple(sorted(r["label"] for r in labels)),
        relationship_types=tuple(sorted(r["t"] for r in rtypes)),
        types=types,
        indexes=tuple(sorted(json.dumps({k: v for k, v in i.items() if k not in READ_STATS},
                                        sort_keys=True, default=str)
                             for i in schema["indexes"])),
        constraints=tuple(sorted(json.dumps(c, sort_keys=True, default=str)
                                 for c in schema["constraints"])),
        properties=_digest([node_rows, rel_rows]),
        files=files,
    )


def local_env(db_env: dict[str, str]) -> dict[str, str]:
    """The default path: no NEO4J_URI, the local server of NEUROMFA_HOME, the test database."""
    env = {k: v for k, v in db_env.items() if not k.startswith("NEO4J_")}
    if "NEO4J_DATABASE" in db_env:
        env["NEO4J_DATABASE"] = db_env["NEO4J_DATABASE"]
    return env


def write_csv(folder: Path) -> Path:
    path = folder / "secret.csv"
    path.write_text("name,value\nsecret,42\n")
    os.chmod(path, 0o600)
    return path


# -- the attacks ------------------------------------------------------------------------------
DO_WHEN_DELETE = ("CALL apoc.do.when(true, 'MATCH (n) CALL { WITH n DETACH DELETE n } IN "
                  "TRANSACTIONS RETURN 1 AS x', '', {}) YIELD value RETURN value")
CONCURRENT_SET = ("MATCH (c:Canary) CALL { WITH c WITH c WHERE c:`Canary` SET c.v = 99 } "
                  "IN CONCURRENT TRANSACTIONS")

# (id, statement); {csv} is replaced by a local file's URL.
ATTACKS = [
    ("do-when-delete-in-transactions", DO_WHEN_DELETE),
    ("concurrent-transactions-after-quoted-label", CONCURRENT_SET),
    ("new-label", "CREATE (:FreshLabel {x: 1})"),
    ("new-label-after-quoted-name", "MATCH (c:`Canary`) SET c:FreshLabel"),
    ("new-relationship-type", "MATCH (a:Canary {v: 1}), (b:Canary {v: 3}) CREATE (a)-[:FRESH_REL]->(b)"),
    ("load-csv", "LOAD CSV FROM '{csv}' AS row RETURN row"),
    ("load-csv-with-headers-create", "LOAD CSV WITH HEADERS FROM '{csv}' AS row CREATE (:Leak {v: row.value})"),
    ("load-csv-after-quoted-name", "MATCH (c:`Canary`) LOAD CSV FROM '{csv}' AS row RETURN row"),
    ("comment-before-keyword", "MATCH (c:Canary) /* harmless */ SET c.v = 5"),
    ("line-comment-before-keyword", "MATCH (c:Canary) // harmless\nSET c.v = 5"),
    ("comment-inside-keyword", "MATCH (c:Canary) SE/**/T c.v = 5"),
    ("unicode-escape-in-keyword", "MATCH (c:Canary) S\\u0045T c.v = 5"),
    ("unicode-escape-in-label", "MATCH (c:`Can\\u0061ry`) SET c.v = 5"),
    ("unicode-label", "CREATE (:Ünïcødé {x: 1})"),
    ("mixed-case", "match (c:Canary) sEt c.v = 5"),
    ("mixed-case-delete", "MATCH (c:Canary) DeTaCh DeLeTe c"),
    ("quoted-procedure-name", "CALL `apoc`.`do`.`when`(true, 'MATCH (n:Canary) SET n.v = 7 RETURN 1 AS x', '', {}) YIELD value RETURN value"),
    ("do-when-plain-set", "CALL apoc.do.when(true, 'MATCH (n:Canary) SET n.v = 1000 RETURN 1 AS x', '', {}) YIELD value RETURN value"),
    ("merge-node-procedure", "CALL apoc.merge.node(['Merged'], {k: 1}) YIELD node RETURN node"),
    ("merge-node-existing-label", "CALL merge.node(['Canary'], {v: 42}) YIELD node RETURN node"),
    ("refactor-rename-label", "CALL apoc.refactor.rename.label('Canary', 'Bird')"),
    ("create-label-procedure", "CALL db.createLabel('ProcLabel')"),
    ("create-index", "CREATE INDEX canary_v IF NOT EXISTS FOR (c:Canary) ON (c.v)"),
    ("create-constraint", "CREATE CONSTRAINT canary_name IF NOT EXISTS FOR (c:Canary) REQUIRE c.name IS UNIQUE"),
    ("drop-existing-index", "DROP INDEX graph_model"),
    ("drop-existing-constraint", "DROP CONSTRAINT job_jid IF EXISTS"),
    ("set-map-plus", "MATCH (c:Canary) SET c += {v: 7, extra: true}"),
    ("set-map-replace", "MATCH (c:Canary) SET c = {}"),
    ("remove-property", "MATCH (c:Canary) REMOVE c.v"),
    ("remove-label", "MATCH (c:Canary) REMOVE c:Canary"),
    ("foreach", "MATCH (c:Canary) WITH collect(c) AS cs FOREACH (x IN cs | SET x.v = 0)"),
    ("merge-in-subquery", "CALL { MERGE (:Canary {v: 100}) } RETURN 1 AS one"),
    ("merge-relationship-in-subquery", "MATCH (c:Canary {v: 1}) CALL { WITH c MERGE (c)-[:PECKS]->(:Canary {v: 4}) } RETURN 1 AS one"),
    ("create-in-transactions-of-rows", "UNWIND [1, 2] AS i CALL { WITH i CREATE (:Canary {v: i}) } IN 2 CONCURRENT TRANSACTIONS OF 1 ROW ON ERROR CONTINUE"),
    ("set-in-transactions-param-batch", "MATCH (c:Canary) CALL { WITH c SET c.v = 6 } IN TRANSACTIONS OF $n ROWS"),
    ("profile-prefix", "PROFILE MATCH (c:Canary) SET c.v = 8"),
    ("explain-prefix", "EXPLAIN MATCH (c:Canary) DETACH DELETE c"),
    ("two-statements", "MATCH (n) RETURN count(n) AS n; MATCH (c:Canary) SET c.v = 9"),
    ("delete-relationships", "MATCH ()-[r]->() DELETE r"),
    ("set-relationship-property", "MATCH ()-[r:PECKS]->() SET r.w = 2.0"),
    ("detach-delete-everything", "MATCH (n) DETACH DELETE n"),
]


# The server may let these through because they write nothing (ArcadeDB reads the escape
# literally, so the label matches no node; EXPLAIN does not run the SET; PROFILE's SET is
# refused at commit but its auto-commit run leaves nothing): only the fingerprint is checked.
SERVER_NO_OPS = {"unicode-escape-in-label", "profile-prefix", "explain-prefix"}


def attack_statement(template: str, csv_url: str) -> str:
    return template.replace("{csv}", csv_url)


def reader_driver(graph_server: Any) -> tuple[neo4j.Driver, dict[str, str]]:
    """The read-only path below neuromfa: the local ArcadeDB's read-only user; on Neo4j
    Community, which has no such user, the administrator in READ sessions (the driver's session
    arguments), which the server enforces."""
    if graph_server.name == "neo4j":
        assert graph_server.reader is None
        return (GraphDatabase.driver(graph_server.uri, auth=(graph_server.username, graph_server.password)),
                {"default_access_mode": neo4j.READ_ACCESS})
    assert graph_server.reader is not None, "the local server has a read-only user"
    return GraphDatabase.driver(graph_server.uri, auth=graph_server.reader), {}
