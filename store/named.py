"""Statements run by name: what the repositories need from a Store.

Repositories never hold Cypher text; they name a statement (store/cypher/NAME.cypher) and pass
its parameters. `NamedStore` is that interface: `Store` implements it on the database, and
tests/recording_store.py implements it by recording (name, parameters) and returning canned
rows.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar

import neo4j

from neuromfa.store.statements import cypher

T = TypeVar("T")
Row = dict[str, Any]


class NamedTx(Protocol):
    """An open transaction that runs named statements."""

    def run_named(self, name: str, /, **params: Any) -> list[Row]:
        """Rows of statement ``name`` run with ``params`` inside this transaction."""
        ...


class NamedStore(Protocol):
    """The part of `Store` the repositories use."""

    def read_named(self, name: str, /, **params: Any) -> list[Row]: ...

    def write_named(self, name: str, /, **params: Any) -> list[Row]: ...

    def run_in_write_tx_named(self, fn: Callable[[NamedTx], T], /) -> T: ...

    def named_transaction(self) -> AbstractContextManager[NamedTx]: ...


class DriverTx:
    """A driver transaction (managed or explicit) as a `NamedTx`."""

    __slots__ = ("tx",)

    def __init__(self, tx: neo4j.ManagedTransaction | neo4j.Transaction):
        self.tx = tx

    def run_named(self, name: str, /, **params: Any) -> list[Row]:
        return [record.data() for record in self.tx.run(cypher(name), params)]
