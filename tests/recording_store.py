"""A Store that records statements instead of running them (unit tests of the repositories).

It implements `neuromfa.store.named.NamedStore`: every statement a repository runs is recorded
as a `Call` (statement name, parameters, and the transaction it ran in), and answered with the
rows queued for that statement name (none queued: no rows). No server, no Cypher text: the
names must still exist in store/cypher/, which `RecordingStore` checks.

    rec = RecordingStore()
    rec.queue("graph_exists", [{"gid": "g", "edges": 3}])
    GraphRepository(rec).exists("g")
    assert rec.calls == [Call("graph_exists", {"gid": "g"})]
"""

from __future__ import annotations

import contextlib
import itertools
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple, TypeVar

from neuromfa.store.statements import cypher

T = TypeVar("T")
Row = dict[str, Any]


class Call(NamedTuple):
    """One statement run: its name, its parameters, and its transaction (None: run alone by
    read_named/write_named)."""

    name: str
    params: dict[str, Any]
    tx: int | None = None


class RecordingTx:
    """A transaction of a RecordingStore: ``run_named`` records under its number."""

    def __init__(self, store: RecordingStore, number: int):
        self.store = store
        self.number = number

    def run_named(self, name: str, /, **params: Any) -> list[Row]:
        return self.store._record(name, params, self.number)


class RecordingStore:
    """Records (name, parameters) of every statement and returns the rows queued for it."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.committed: list[int] = []  # transactions that committed, in order
        self.rolled_back: list[int] = []
        self._canned: dict[str, deque[list[Row]]] = defaultdict(deque)
        self._numbers = itertools.count(1)

    def queue(self, name: str, *results: list[Row]) -> RecordingStore:
        """The rows of the next calls of ``name``: one list of rows per call, in order."""
        cypher(name)  # KeyError for a statement that does not exist
        self._canned[name].extend(results)
        return self

    def names(self) -> list[str]:
        return [c.name for c in self.calls]

    def unused(self) -> dict[str, int]:
        """Statements whose queued results were not all asked for (name -> how many left)."""
        return {name: len(left) for name, left in self._canned.items() if left}

    def _record(self, name: str, params: dict[str, Any], tx: int | None) -> list[Row]:
        cypher(name)
        self.calls.append(Call(name, params, tx))
        left = self._canned.get(name)
        return left.popleft() if left else []

    # -- NamedStore --------------------------------------------------------------------------
    def read_named(self, name: str, /, **params: Any) -> list[Row]:
        return self._record(name, params, None)

    def write_named(self, name: str, /, **params: Any) -> list[Row]:
        return self._record(name, params, None)

    def run_in_write_tx_named(self, fn: Callable[[RecordingTx], T], /) -> T:
        with self.named_transaction() as tx:
            return fn(tx)

    @contextlib.contextmanager
    def named_transaction(self) -> Iterator[RecordingTx]:
        tx = RecordingTx(self, next(self._numbers))
        try:
            yield tx
        except BaseException:
            self.rolled_back.append(tx.number)
            raise
        self.committed.append(tx.number)
