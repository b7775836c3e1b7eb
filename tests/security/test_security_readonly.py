"""Read-only without --write, beyond the attack matrix (test_security_attacks.py): the real
process on the default path, what the scanner's refusal says, the server's own refusal codes,
``read_only`` below the scanner, and what must still work (reads, parameters, --write). Each
test gets a fresh canary database."""

from __future__ import annotations

import subprocess
import sys

import pytest
from cli_helpers import run_cli
from neo4j.exceptions import Neo4jError
from security_helpers import (
    CONCURRENT_SET,
    DO_WHEN_DELETE,
    fingerprint,
    load_canary_graph,
    local_env,
    reader_driver,
)

from neuromfa.base.errors import DatabaseError
from neuromfa.queries.runner import read_only
from neuromfa.store.connection import Store


@pytest.fixture
def canary(store: Store) -> Store:
    load_canary_graph(store)
    return store






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





def test_the_server_says_forbidden_for_plain_writes(canary, graph_server):
    """The refusal is the server's permission check (ArcadeDB: the user's; Neo4j: the READ
    session's), not a syntax or other error. Neo4j Community has no APOC: its procedures are
    not found."""
    before = fingerprint(canary, graph_server)
    neo = graph_server.name == "neo4j"
    refusal = "Neo.ClientError.Statement.AccessMode" if neo else "Neo.ClientError.Security.Forbidden"
    driver, mode = reader_driver(graph_server)
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
