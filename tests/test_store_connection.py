"""Store against the real graph server: reads, writes, transactions, schema, errors."""

from __future__ import annotations

import threading

import pytest

from neuromfa.base.errors import DatabaseError
from neuromfa.cli.console import error_lines
from neuromfa.store import ConstraintViolation, Store
from neuromfa.store.connection import connect
from neuromfa.store.schema import schema_statements


def test_write_then_read_roundtrip(store: Store) -> None:
    rows = store.write("UNWIND $rows AS r CREATE (n:Neuron {uid: r.uid, layer: r.layer}) "
                       "RETURN n.uid AS uid", rows=[{"uid": "a", "layer": 0},
                                                    {"uid": "b", "layer": 1}])
    assert sorted(r["uid"] for r in rows) == ["a", "b"]
    got = store.read("MATCH (n:Neuron) WHERE n.layer >= $min RETURN n.uid AS uid", min=1)
    assert got == [{"uid": "b"}]


def test_fresh_database_is_empty(store: Store) -> None:
    assert store.read("MATCH (n) RETURN count(n) AS n") == [{"n": 0}]


def test_transaction_commits_all_statements(store: Store) -> None:
    with store.transaction() as tx:
        tx.run("CREATE (:Model {name: $n})", n="m1").consume()
        tx.run("MATCH (m:Model {name: $n}) CREATE (:Checkpoint {model: $n, step: 1})"
               "-[:CHECKPOINT_OF]->(m)", n="m1").consume()
    assert store.read("MATCH (:Checkpoint)-[:CHECKPOINT_OF]->(m:Model) "
                      "RETURN m.name AS name") == [{"name": "m1"}]


def test_transaction_failing_midway_leaves_nothing(store: Store) -> None:
    store.write("CREATE (:Neuron {uid: 'taken'})")
    with pytest.raises(ConstraintViolation), store.transaction() as tx:
        tx.run("CREATE (:Graph {gid: 'g1'})").consume()
        tx.run("UNWIND range(1, 50) AS i CREATE (:Neuron {uid: 'n' + toString(i)})"
               ).consume()
        tx.run("CREATE (:Neuron {uid: 'taken'})").consume()  # breaks uniqueness
    assert store.read("MATCH (g:Graph) RETURN count(g) AS n") == [{"n": 0}]
    assert store.read("MATCH (n:Neuron) RETURN count(n) AS n") == [{"n": 1}]


def test_python_exception_in_transaction_rolls_back(store: Store) -> None:
    with pytest.raises(KeyboardInterrupt), store.transaction() as tx:
        tx.run("CREATE (:Job {jid: 'j1', status: 'queued'})").consume()
        raise KeyboardInterrupt
    assert store.read("MATCH (j:Job) RETURN count(j) AS n") == [{"n": 0}]


def test_write_tx_retries_concurrent_conflicts(store: Store) -> None:
    store.write("CREATE (:Job {jid: 'counter', progress: 0})")
    errors: list[BaseException] = []

    def bump() -> None:
        try:
            for _ in range(15):
                store.write("MATCH (j:Job {jid: 'counter'}) SET j.progress = j.progress + 1")
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.read("MATCH (j:Job {jid: 'counter'}) RETURN j.progress AS p") == [{"p": 60}]


def test_run_in_write_tx_returns_function_value(store: Store) -> None:
    def create(tx, names):
        return tx.run("UNWIND $names AS n CREATE (m:Model {name: n}) RETURN count(m) AS c",
                      names=names).single()["c"]

    assert store.run_in_write_tx(create, ["a", "b", "c"]) == 3
    assert store.run_in_read_tx(
        lambda tx: tx.run("MATCH (m:Model) RETURN count(m) AS c").single()["c"]) == 3


@pytest.mark.parametrize("create,count", [
    ("CREATE (:Model {name: 'm'})", "MATCH (x:Model) RETURN count(x) AS n"),
    ("CREATE (:Graph {gid: 'g'})", "MATCH (x:Graph) RETURN count(x) AS n"),
    ("CREATE (:Neuron {uid: 'u'})", "MATCH (x:Neuron) RETURN count(x) AS n"),
    ("CREATE (:Analysis {aid: 'a'})", "MATCH (x:Analysis) RETURN count(x) AS n"),
    ("CREATE (:Job {jid: 'j'})", "MATCH (x:Job) RETURN count(x) AS n"),
    ("CREATE (:Checkpoint {model: 'm', step: 1})", "MATCH (x:Checkpoint) RETURN count(x) AS n"),
])
def test_uniqueness_constraints_reject_duplicates(store: Store, create: str, count: str) -> None:
    store.write(create)
    with pytest.raises(ConstraintViolation):
        store.write(create)
    assert store.read(count) == [{"n": 1}]


def test_checkpoint_unique_on_model_and_step_together(store: Store) -> None:
    store.write("CREATE (:Checkpoint {model: 'm', step: 1})")
    store.write("CREATE (:Checkpoint {model: 'm', step: 2})")
    store.write("CREATE (:Checkpoint {model: 'other', step: 1})")
    assert store.read("MATCH (c:Checkpoint) RETURN count(c) AS n") == [{"n": 3}]


def _schema_key(store: Store) -> tuple[list, list]:
    s = store.schema()
    cons = sorted((c["name"], c["type"], tuple(c["labelsOrTypes"]), tuple(c["properties"]))
                  for c in s["constraints"])
    idx = sorted((i["name"], tuple(i["labelsOrTypes"] or ()), tuple(i["properties"] or ()))
                 for i in s["indexes"])
    return cons, idx


def test_apply_schema_twice_gives_same_schema(store: Store) -> None:
    before = _schema_key(store)  # the fixture applied it once
    store.apply_schema()
    store.apply_schema()
    assert _schema_key(store) == before
    cons, idx = before
    assert {c[0] for c in cons} == {"model_name", "checkpoint_model_step", "graph_gid",
                                    "neuron_uid", "analysis_aid", "job_jid", "job_active_key"}
    # Neo4j 5.x names the type UNIQUENESS or NODE_PROPERTY_UNIQUENESS; ArcadeDB UNIQUENESS.
    assert all("UNIQUENESS" in c[1] for c in cons)
    assert ("checkpoint_model_step", ("Checkpoint",), ("model", "step")) in {
        (c[0], c[2], c[3]) for c in cons}
    indexed = {(labels, props) for _, labels, props in idx}
    for key in [(("Graph",), ("model",)), (("Neuron",), ("graph",)),
                (("Analysis",), ("graph",)), (("Job",), ("status",)),
                (("Checkpoint",), ("model", "step")), (("Neuron",), ("uid",))]:
        assert key in indexed


def test_schema_statements_are_neo4j5_if_not_exists() -> None:
    statements = schema_statements()
    assert len(statements) == 11  # 7 constraints, 4 indexes
    for s in statements:
        assert s.startswith(("CREATE CONSTRAINT ", "CREATE INDEX ")) and " IF NOT EXISTS " in s
        assert ";" not in s


def test_syntax_error_is_one_line_database_error(store: Store) -> None:
    with pytest.raises(DatabaseError) as err:
        store.read("MATC (n) RETURN n")
    assert "rejected a statement" in err.value.message
    assert "\n" not in str(err.value)


def test_missing_parameter_reported(store: Store) -> None:
    with pytest.raises(DatabaseError) as err:
        store.read("RETURN $nope AS x")
    assert "nope" in err.value.message


def test_wrong_password_is_database_error(graph_server) -> None:
    with pytest.raises(DatabaseError) as err:
        connect(graph_server.uri, graph_server.username, graph_server.password + "x",
                graph_server.database)
    assert "refused the credentials" in err.value.message
    assert "NEO4J_PASSWORD" in err.value.hint


def test_server_down_fails_fast(free_port: int) -> None:
    import time

    t0 = time.monotonic()
    with pytest.raises(DatabaseError) as err:
        connect(f"bolt://127.0.0.1:{free_port}", "root", "whatever1", None)
    assert time.monotonic() - t0 < 10
    assert err.value.message == f"cannot reach the graph database at bolt://127.0.0.1:{free_port}"
    assert "LocalServer().start()" in err.value.hint and "`neuromfa db start`" in error_lines(err.value)[1]


def test_unknown_database(graph_server) -> None:
    with pytest.raises(DatabaseError) as err:
        connect(graph_server.uri, graph_server.username, graph_server.password, "t_missing_db")
    assert "NEO4J_DATABASE" in err.value.hint


@pytest.mark.parametrize("uri", ["http://localhost:7474", "localhost:7687", ""])
def test_non_bolt_uri_is_config_error(uri: str) -> None:
    from neuromfa.base.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        connect(uri, "neo4j", "pw", None)
    assert "not a Bolt URI" in err.value.message and "NEO4J_URI" in err.value.hint
