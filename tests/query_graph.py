"""The hand-built graph of the named-query tests: tests/fixtures/query_graph.cypher."""

from __future__ import annotations

from pathlib import Path

from neuromfa.store.connection import Store
from neuromfa.store.statements import file_statements

FIXTURE = Path(__file__).parent / "fixtures" / "query_graph.cypher"

G0 = "tiny@0/s0/k2/reference"
G1 = "tiny@100/s0/k2/reference"
G2 = "tiny@100/s1/k2/reference"
G3 = "tiny@0/s1/k2/reference"
G5 = "tiny@100/s2/k2/reference"
G4 = "other@0/s0/k1/reference"
A0 = G0 + "#one-hop-a"
A1 = G1 + "#one-hop-b"
A1_SP = G1 + "#shortest-path-c"


def statements() -> list[str]:
    """The fixture's statements (comment lines dropped, split at a ';' ending a line)."""
    return file_statements(FIXTURE)


def load(store: Store) -> None:
    """Write the fixture graph into the (empty) database of ``store``."""
    for statement in statements():
        store.write(statement)
