"""Adversarial replay: writes attempted without --write, against the real local server.

Every attempt goes through the real CLI (`neuromfa query --cypher`, no --write) and through
``run_cypher``; each must fail and leave the database fingerprint (counts, labels, types,
ArcadeDB types, indexes, constraints, a property checksum, the database's files) unchanged.
Below the scanner, the same writes sent straight over Bolt with the read-only user's
credentials show that the server itself refuses them: that is the guarantee.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

import neo4j
import pytest
from neo4j import GraphDatabase
from neo4j.exceptions import Neo4jError
from security_helpers import fingerprint, load_canary_graph, local_env, run_cli, write_csv

from neuromfa.base.errors import DatabaseError
from neuromfa.queries import run_cypher
from neuromfa.queries.runner import read_only
from neuromfa.store.connection import Store

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


@pytest.fixture
def canary(store: Store) -> Store:
    load_canary_graph(store)
    return store


@pytest.fixture
def csv_url(tmp_path: Path) -> str:
    return write_csv(tmp_path).as_uri()


# The server may let these through because they write nothing (ArcadeDB reads the escape
# literally, so the label matches no node; EXPLAIN does not run the SET; PROFILE's SET is
# refused at commit but its auto-commit run leaves nothing): only the fingerprint is checked.
SERVER_NO_OPS = {"unicode-escape-in-label", "profile-prefix", "explain-prefix"}


def _statement(template: str, csv_url: str) -> str:
    return template.replace("{csv}", csv_url)


@pytest.mark.parametrize("statement", [a[1] for a in ATTACKS], ids=[a[0] for a in ATTACKS])
def test_cli_without_write_refuses_and_changes_nothing(canary, graph_server, db_env, csv_url,
                                                        statement, monkeypatch, capsys):
    before = fingerprint(canary, graph_server)
    code, out, err = run_cli(monkeypatch, capsys, db_env, "query", "--cypher",
                             _statement(statement, csv_url), "-p", "n=1")
    assert code != 0, out
    assert err.startswith("error: ") and "Traceback" not in err
    assert "secret" not in out + err  # LOAD CSV read nothing back
    assert fingerprint(canary, graph_server) == before


@pytest.mark.parametrize("statement", [a[1] for a in ATTACKS], ids=[a[0] for a in ATTACKS])
def test_run_cypher_refuses_and_changes_nothing(canary, graph_server, csv_url, statement):
    before = fingerprint(canary, graph_server)
    with pytest.raises(DatabaseError):
        run_cypher(_statement(statement, csv_url), {"n": 1}, store=canary)
    assert fingerprint(canary, graph_server) == before


def test_the_headline_bypass_as_a_real_process_on_the_default_path(canary, graph_server,
                                                                   db_env):
    """`neuromfa query --cypher` as a subprocess, no NEO4J_URI: the local server's own path."""
    before = fingerprint(canary, graph_server)
    for statement in (DO_WHEN_DELETE, CONCURRENT_SET):
        proc = subprocess.run([sys.executable, "-m", "neuromfa.cli", "query", "--cypher",
                               statement], env=local_env(db_env), capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 1, proc.stdout
        assert proc.stderr.startswith("error: refused") and "Traceback" not in proc.stderr
        assert fingerprint(canary, graph_server) == before
    assert canary.read("MATCH (c:Canary) RETURN sum(c.v) AS s") == [{"s": 6}]


def test_scanner_refusal_says_what_it_verified(canary, monkeypatch, capsys, db_env):
    code, _, err = run_cli(monkeypatch, capsys, db_env, "query", "--cypher", CONCURRENT_SET)
    assert code == 1
    assert "(SET, IN TRANSACTIONS)" in err and "it was not sent, nothing was changed" in err


# -- below the scanner: the server itself ---------------------------------------------------

def _reader_driver(graph_server) -> tuple[neo4j.Driver, dict[str, str]]:
    """The read-only path below neuromfa: the local ArcadeDB's read-only user; on Neo4j
    Community, which has no such user, the administrator in READ sessions (the driver's session
    arguments), which the server enforces."""
    if graph_server.name == "neo4j":
        assert graph_server.reader is None
        return (GraphDatabase.driver(graph_server.uri, auth=(graph_server.username, graph_server.password)),
                {"default_access_mode": neo4j.READ_ACCESS})
    assert graph_server.reader is not None, "the local server has a read-only user"
    return GraphDatabase.driver(graph_server.uri, auth=graph_server.reader), {}


@pytest.mark.parametrize("name, statement", ATTACKS, ids=[a[0] for a in ATTACKS])
def test_the_server_refuses_the_read_only_user(canary, graph_server, csv_url, name, statement):
    """Auto-commit and explicit commit, as the read-only user, no scanner in between."""
    before = fingerprint(canary, graph_server)
    text = _statement(statement, csv_url)
    def refused():
        return (contextlib.suppress(Neo4jError) if name in SERVER_NO_OPS
                else pytest.raises(Neo4jError))

    driver, mode = _reader_driver(graph_server)
    with driver:
        with driver.session(database=canary.database, **mode) as session, refused():
            session.run(text, {"n": 1}).consume()
        assert fingerprint(canary, graph_server) == before
        with driver.session(database=canary.database, **mode) as session, refused(), \
                session.begin_transaction() as tx:
            tx.run(text, {"n": 1}).consume()
            tx.commit()
    assert fingerprint(canary, graph_server) == before


def test_the_server_says_forbidden_for_plain_writes(canary, graph_server):
    """The refusal is the server's permission check (ArcadeDB: the user's; Neo4j: the READ
    session's), not a syntax or other error. Neo4j Community has no APOC: its procedures are
    not found."""
    before = fingerprint(canary, graph_server)
    neo = graph_server.name == "neo4j"
    refusal = "Neo.ClientError.Statement.AccessMode" if neo else "Neo.ClientError.Security.Forbidden"
    driver, mode = _reader_driver(graph_server)
    with driver, driver.session(database=canary.database, **mode) as session:
        for statement in ("MATCH (c:Canary) SET c.v = 99", "CREATE (:FreshLabel)",
                          "MATCH (n) DETACH DELETE n", CONCURRENT_SET, DO_WHEN_DELETE,
                          "CREATE INDEX canary_v IF NOT EXISTS FOR (c:Canary) ON (c.v)"):
            with pytest.raises(Neo4jError) as err:
                session.run(statement).consume()
            expected = ("Neo.ClientError.Procedure.ProcedureNotFound"
                        if neo and statement == DO_WHEN_DELETE else refusal)
            assert err.value.code == expected, statement
        assert session.run("MATCH (c:Canary) RETURN sum(c.v) AS s").single()["s"] == 6
    assert fingerprint(canary, graph_server) == before


def test_read_only_store_refuses_without_scanner(canary, graph_server):
    """``read_only`` on the reader Store (what run_cypher uses), the scanner skipped (on
    Neo4j the Store itself: its READ session refuses)."""
    before = fingerprint(canary, graph_server)
    for statement in (DO_WHEN_DELETE, CONCURRENT_SET, "CREATE (:FreshLabel {x: 1})",
                      "MATCH (c:Canary) SET c.v = 99"):
        if graph_server.name == "neo4j" and statement == DO_WHEN_DELETE:
            with pytest.raises(Neo4jError, match="no procedure with the name `apoc.do.when`"):
                read_only(canary.reader(), statement, {})
            continue
        with pytest.raises(DatabaseError, match="refused"):
            read_only(canary.reader(), statement, {})
    assert fingerprint(canary, graph_server) == before


# -- what must still work --------------------------------------------------------------------

def test_reads_and_read_procedures_run_as_the_reader(canary, db_env, monkeypatch, capsys):
    for statement in ("MATCH (c:Canary) RETURN sum(c.v) AS s",
                      "CALL db.labels() YIELD label RETURN label",
                      "CALL db.relationshipTypes()", "CALL db.propertyKeys()",
                      "CALL db.schema.visualization()", "SHOW INDEXES",
                      "CALL { MATCH (c:Canary) RETURN c.v AS v } RETURN sum(v) AS s",
                      "MATCH (c:`Canary`) WHERE c.name = 'SET' RETURN c"):
        code, out, err = run_cli(monkeypatch, capsys, db_env, "query", "--cypher", statement)
        assert code == 0, (statement, err)


def test_parameters_that_look_like_cypher_are_just_values(canary, graph_server, db_env,
                                                          monkeypatch, capsys):
    before = fingerprint(canary, graph_server)
    evil = "x' }) MATCH (n) DETACH DELETE n //"
    code, out, err = run_cli(monkeypatch, capsys, db_env, "query", "--cypher",
                             "RETURN $v AS v", "-p", f"v={evil}", "-f", "json")
    assert code == 0, err
    assert evil in out
    code, out, err = run_cli(monkeypatch, capsys, db_env, "query", "strongest-synapses",
                             "-p", f"graph={evil}", "-f", "json")
    assert code == 0, err
    assert fingerprint(canary, graph_server) == before


def test_write_still_works(canary, db_env, monkeypatch, capsys):
    code, _, err = run_cli(monkeypatch, capsys, db_env, "query", "--cypher",
                           "MATCH (c:Canary {v: 1}) SET c.v = 10", "--write")
    assert code == 0, err and "properties set: 1" in err
    assert canary.read("MATCH (c:Canary) RETURN sum(c.v) AS s") == [{"s": 15}]
