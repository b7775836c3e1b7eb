"""Administration commands on Neo4j Community, which has no roles: its one user may run
``TERMINATE TRANSACTIONS`` and DBMS procedures even in a READ session. Below the scanner,
``read_only`` refuses them from the server's own plan of the statement (EXPLAIN), before they
run; reads, ``PROFILE`` and ``CYPHER`` options still work."""

from __future__ import annotations

import neo4j
import pytest
from security_helpers import fingerprint, load_canary_graph

from neuromfa.base.errors import DatabaseError
from neuromfa.queries.runner import explain_text, read_only
from neuromfa.store.connection import Store

PLAN_REFUSAL = "refused by the graph server's plan of the statement"


@pytest.fixture
def canary(store: Store) -> Store:
    load_canary_graph(store)
    return store


def _open_write(store: Store) -> tuple[neo4j.Session, neo4j.Transaction, str]:
    """Another session's open write transaction, and its id as SHOW TRANSACTIONS gives it."""
    session = store.session()
    tx = session.begin_transaction()
    tx.run("CREATE (:Canary {v: 50})").consume()
    rows = read_only(store, "SHOW TRANSACTIONS YIELD transactionId, currentQuery, status "
                            "WHERE currentQuery = '' RETURN transactionId", {}).records()
    assert len(rows) == 1, rows
    return session, tx, rows[0]["transactionId"]


@pytest.mark.servers("neo4j")
def test_terminate_transactions_is_refused_and_the_write_survives(canary, graph_server):
    before = fingerprint(canary, graph_server)
    session, tx, tid = _open_write(canary)
    try:
        for statement in ("TERMINATE TRANSACTIONS $tid",
                          "TERMINATE TRANSACTION $tid YIELD message RETURN message",
                          "PROFILE TERMINATE TRANSACTIONS $tid",
                          "CYPHER 5 TERMINATE TRANSACTIONS $tid"):
            with pytest.raises(DatabaseError, match=PLAN_REFUSAL) as err:
                read_only(canary, statement, {"tid": tid})
            assert "TerminateTransactions" in err.value.message, statement
            assert "not run, nothing was changed" in err.value.message
        tx.commit()  # not terminated
    finally:
        session.close()
    after = canary.read("MATCH (c:Canary) RETURN c.v AS v ORDER BY v")
    assert [r["v"] for r in after] == [1, 2, 3, 50]
    assert fingerprint(canary, graph_server).nodes == before.nodes + 1


@pytest.mark.servers("neo4j")
@pytest.mark.parametrize("statement, what", [
    ("CALL dbms.killConnections($ids)", "CALL dbms.killConnections"),
    ("CALL dbms.killConnection($ids[0])", "CALL dbms.killConnection"),
    ("CALL db.awaitIndexes(1)", "CALL db.awaitIndexes"),
    ("CALL db.prepareForReplanning(1)", "CALL db.prepareForReplanning"),
    ("CALL db.clearQueryCaches()", "CALL db.clearQueryCaches"),
    ("CALL db.stats.collect('QUERIES')", "CALL db.stats.collect"),
    ("CALL `dbms`.`killConnections`($ids)", "CALL dbms.killConnections"),
    ("MATCH (c:Canary) WITH count(c) AS n CALL db.resampleOutdatedIndexes() RETURN n",
     "CALL db.resampleOutdatedIndexes"),
    ("SHOW DATABASES", "schema or DBMS statement"),
    ("CREATE (:Canary {v: 9})", "classifies it as a write"),
])
def test_dbms_procedures_are_refused_from_the_plan(canary, graph_server, statement, what):
    before = fingerprint(canary, graph_server)
    ids = [r["connectionId"] for r in canary.read("CALL dbms.listConnections() "
                                                  "YIELD connectionId RETURN connectionId")]
    with pytest.raises(DatabaseError, match=PLAN_REFUSAL) as err:
        read_only(canary, statement, {"ids": ids})
    assert what in err.value.message
    canary.check()  # no connection was killed
    assert fingerprint(canary, graph_server) == before


@pytest.mark.servers("neo4j")
def test_reads_profile_and_options_pass_the_plan_check(canary):
    for statement in ("MATCH (c:Canary) RETURN sum(c.v) AS s",
                      "PROFILE MATCH (c:Canary) RETURN sum(c.v) AS s",
                      "CYPHER 5 PROFILE MATCH (c:Canary) RETURN sum(c.v) AS s",
                      "CYPHER runtime=slotted MATCH (c:Canary) RETURN sum(c.v) AS s",
                      "MATCH (c:Canary) WHERE c.profile IS NULL RETURN sum(c.v) AS s"):
        assert read_only(canary, statement, {}).records() == [{"s": 6}], statement
    labels = read_only(canary, "CALL `db`.`labels`() YIELD label RETURN label", {}).rows
    assert ["Canary"] in labels
    assert read_only(canary, "SHOW TRANSACTIONS YIELD transactionId RETURN count(*) AS n",
                     {}).records()[0]["n"] >= 1


@pytest.mark.parametrize("text, planned", [
    ("MATCH (n) RETURN n", "EXPLAIN MATCH (n) RETURN n"),
    ("PROFILE MATCH (n) RETURN n", "EXPLAIN MATCH (n) RETURN n"),
    ("profile MATCH (n) RETURN n", "EXPLAIN MATCH (n) RETURN n"),
    ("/* c */ PROFILE RETURN 1", "/* c */ EXPLAIN RETURN 1"),
    ("CYPHER 5 runtime=slotted PROFILE RETURN 1", "CYPHER 5 runtime=slotted EXPLAIN RETURN 1"),
    ("CYPHER 5 RETURN 1", "EXPLAIN CYPHER 5 RETURN 1"),
    ("MATCH (n) WHERE n.profile RETURN n", "EXPLAIN MATCH (n) WHERE n.profile RETURN n"),
    ("EXPLAIN MATCH (n) RETURN n", "EXPLAIN EXPLAIN MATCH (n) RETURN n"),
])
def test_explain_text_plans_without_running(text, planned):
    assert explain_text(text) == planned
