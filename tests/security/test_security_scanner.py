"""The statement scanner (the fast first refusal, no database): what it refuses and names,
and the reads it must let through."""

from __future__ import annotations

import pytest

from neuromfa.base.errors import DatabaseError
from neuromfa.cli.console import error_lines
from neuromfa.queries.runner import refuse_write_clauses, write_clauses


@pytest.mark.parametrize("statement, clauses", [
    ("MATCH (c:Canary) CALL { WITH c WITH c WHERE c:`Canary` SET c.v = 99 } "
     "IN CONCURRENT TRANSACTIONS", ["SET", "IN TRANSACTIONS"]),
    ("MATCH (c:`Canary`) DELETE c", ["DELETE"]),
    ("MATCH (c) WITH c AS `x``y` SET c.v = 1", ["SET"]),
    ("UNWIND [1] AS i CALL { WITH i RETURN i } IN 3 CONCURRENT TRANSACTIONS OF 1 ROW",
     ["IN TRANSACTIONS"]),
    ("UNWIND [1] AS i CALL { WITH i RETURN i } IN TRANSACTIONS OF $n ROWS", ["IN TRANSACTIONS"]),
    ("LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l", ["LOAD CSV"]),
    ("load /* x */ csv from 'file:///x' as l return l", ["LOAD CSV"]),
    ("CALL apoc.do.when(true, 'MATCH (n) DETACH DELETE n', '', {}) YIELD value RETURN value",
     ["CALL apoc.do.when"]),
    ("CALL `apoc`.`do`.`when`(true, '', '', {})", ["CALL apoc.do.when"]),
    ("CALL merge.node(['X'], {})", ["CALL merge.node"]),
    ("CALL db.createLabel('X')", ["CALL db.createLabel"]),
    ("CALL dbms.security.listUsers()", ["CALL dbms.security.listUsers"]),
    ("match (n) sEt n.v = 1", ["SET"]),
    ("MATCH (n) /* c */ DETACH DELETE n", ["DETACH", "DELETE"]),
    ("MATCH (n) WITH n AS é SET é.v = 1", ["SET"]),
    ("CREATE INDEX i FOR (n:X) ON (n.v)", ["CREATE"]),
    ("MATCH (n) FOREACH (x IN [n] | SET x.v = 0)", ["FOREACH", "SET"]),
    ("PROFILE MATCH (n) SET n.v = 1", ["SET"]),
    ("RETURN 1; MATCH (n) SET n.v = 2", ["SET"]),
])
def test_refused_and_named(statement, clauses):
    assert write_clauses(statement) == clauses
    with pytest.raises(DatabaseError) as err:
        refuse_write_clauses(statement)
    assert "it was not sent, nothing was changed" in err.value.message
    assert "write=True" in err.value.hint and "--write" in error_lines(err.value)[1]


@pytest.mark.parametrize("statement", [
    "CALL db.labels() YIELD label RETURN label",
    "CALL db.relationshipTypes()",
    "CALL db.propertyKeys()",
    "CALL db.schema.visualization()",
    "CALL db.schema.nodeTypeProperties()",
    "SHOW INDEXES", "SHOW CONSTRAINTS", "SHOW TRANSACTIONS",
    "CALL { MATCH (n) RETURN n } RETURN count(n) AS c",
    "CALL (x) { RETURN 1 AS one } RETURN one",
    "MATCH (n) RETURN n.set, n.`delete`, {create: 1} AS m, $merge AS p",
    "MATCH (n:`SET`) WHERE n.name = 'DELETE' OR n.name = \"DETACH\" RETURN n",
    "MATCH (n) RETURN n // SET n.v = 1",
    "MATCH (n) RETURN n /* unterminated SET",
])
def test_reads_pass(statement):
    assert write_clauses(statement) == []
