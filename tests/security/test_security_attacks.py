"""Adversarial replay: 41 writes attempted without --write, against the real local server.

Every attempt goes through the real CLI (`neuromfa query --cypher`, no --write), through
``run_cypher``, and straight over Bolt with the read-only user's credentials (below the
scanner: the server itself refuses them, which is the guarantee). Each must fail and leave the
database fingerprint (counts, labels, types, ArcadeDB types, indexes, constraints, a property
checksum, the database's files) unchanged. The attacks share one canary database per module:
each checks the fingerprint before and after itself, so a change is still caught, by the
attack that made it.
"""

from __future__ import annotations

import contextlib

import pytest
from cli_helpers import run_cli
from neo4j.exceptions import Neo4jError
from security_helpers import (
    ATTACKS,
    SERVER_NO_OPS,
    attack_statement,
    fingerprint,
    load_canary_graph,
    reader_driver,
    write_csv,
)

from neuromfa.base.errors import DatabaseError
from neuromfa.queries import run_cypher
from neuromfa.store.connection import Store


@pytest.fixture(scope="module")
def canary(module_store: Store) -> Store:
    load_canary_graph(module_store)
    return module_store


@pytest.fixture(scope="module")
def csv_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_csv(tmp_path_factory.mktemp("csv")).as_uri()


@pytest.mark.parametrize("statement", [a[1] for a in ATTACKS], ids=[a[0] for a in ATTACKS])
def test_cli_without_write_refuses_and_changes_nothing(canary, graph_server, module_db_env, csv_url,
                                                        statement, monkeypatch, capsys):
    before = fingerprint(canary, graph_server)
    code, out, err = run_cli(monkeypatch, capsys, module_db_env, "query", "--cypher",
                             attack_statement(statement, csv_url), "-p", "n=1")
    assert code != 0, out
    assert err.startswith("error: ") and "Traceback" not in err
    assert "secret" not in out + err  # LOAD CSV read nothing back
    assert fingerprint(canary, graph_server) == before


@pytest.mark.parametrize("statement", [a[1] for a in ATTACKS], ids=[a[0] for a in ATTACKS])
def test_run_cypher_refuses_and_changes_nothing(canary, graph_server, csv_url, statement):
    before = fingerprint(canary, graph_server)
    with pytest.raises(DatabaseError):
        run_cypher(attack_statement(statement, csv_url), {"n": 1}, store=canary)
    assert fingerprint(canary, graph_server) == before


@pytest.mark.parametrize("name, statement", ATTACKS, ids=[a[0] for a in ATTACKS])
def test_the_server_refuses_the_read_only_user(canary, graph_server, csv_url, name, statement):
    """Auto-commit and explicit commit, as the read-only user, no scanner in between."""
    before = fingerprint(canary, graph_server)
    text = attack_statement(statement, csv_url)
    def refused():
        return (contextlib.suppress(Neo4jError) if name in SERVER_NO_OPS
                else pytest.raises(Neo4jError))

    driver, mode = reader_driver(graph_server)
    with driver:
        with driver.session(database=canary.database, **mode) as session, refused():
            session.run(text, {"n": 1}).consume()
        assert fingerprint(canary, graph_server) == before
        with driver.session(database=canary.database, **mode) as session, refused(), \
                session.begin_transaction() as tx:
            tx.run(text, {"n": 1}).consume()
            tx.commit()
    assert fingerprint(canary, graph_server) == before
