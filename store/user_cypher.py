"""Execution of user Cypher (the named library and `query --cypher`): one statement, its rows as
plain Python values, and the update counters the server reported. The read-only policy built
on top of this lives in queries/runner.py; the read-only credentials come from the Store."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import neo4j
import neo4j.graph
import pandas as pd
from neo4j.exceptions import DriverError, Neo4jError
from pydantic import BaseModel

from neuromfa.store.connection import Store

COUNTERS = ("nodes_created", "nodes_deleted", "relationships_created", "relationships_deleted",
            "properties_set", "labels_added", "labels_removed", "indexes_added",
            "indexes_removed", "constraints_added", "constraints_removed", "system_updates")


@dataclass
class QueryResult:
    """Rows of one statement, with its column names (kept even when there are no rows) and
    the update counters the server reported (non-zero ones only)."""

    columns: list[str]
    rows: list[list[Any]]
    counters: dict[str, int] = field(default_factory=dict)
    truncated: int | None = None  # a named query cut at its limit (more rows exist): that limit

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row)) for row in self.rows]

    def frame(self) -> pd.DataFrame:
        df = pd.DataFrame.from_records(self.rows, columns=self.columns) if self.rows else \
            pd.DataFrame({c: pd.Series(dtype=object) for c in self.columns})
        df.attrs["counters"] = dict(self.counters)
        df.attrs["truncated"] = self.truncated
        return df


def plain(value: Any) -> Any:
    """A driver value as plain Python: nodes and relationships as their property dicts (with
    ``_labels`` / ``_type``), paths as lists of node dicts, temporal values as datetime/date."""
    if isinstance(value, neo4j.graph.Node):
        return {"_labels": sorted(value.labels), **{k: plain(v) for k, v in value.items()}}
    if isinstance(value, neo4j.graph.Relationship):
        return {"_type": value.type, **{k: plain(v) for k, v in value.items()}}
    if isinstance(value, neo4j.graph.Path):
        return [plain(n) for n in value.nodes]
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    to_native = getattr(value, "to_native", None)
    return to_native() if callable(to_native) else value


def nonzero_counters(summary: neo4j.ResultSummary) -> dict[str, int]:
    return {n: getattr(summary.counters, n) for n in COUNTERS if getattr(summary.counters, n)}


def run_rolled_back(store: Store, text: str, params: Mapping[str, Any]) -> tuple[QueryResult, bool]:
    """Run ``text`` in a READ transaction that is always rolled back. Returns the rows with the
    server's non-zero update counters, and whether the server reported any update. Driver
    errors (a refused write among them) propagate untranslated, after the rollback."""
    with store.session(default_access_mode=neo4j.READ_ACCESS) as session:
        tx = session.begin_transaction()
        try:
            result = tx.run(text, dict(params))
            columns = list(result.keys())
            rows = [[plain(v) for v in record.values()] for record in result]
            summary = result.consume()
        except BaseException:
            with contextlib.suppress(DriverError, Neo4jError):
                tx.rollback()
            raise
        tx.rollback()  # always: a read leaves nothing behind that a rollback can undo
    return QueryResult(columns, rows, nonzero_counters(summary)), bool(summary.counters.contains_updates)


QueryType = Literal["r", "rw", "w", "s"]  # read, read-write, write, schema or DBMS


class StatementPlan(BaseModel):
    """What the server's planner says a statement does (from EXPLAIN: planned, never run)."""

    query_type: QueryType | None  # the server's classification (None: it gave none)
    operators: list[str]  # the plan's operator types, without their "@database" suffix
    procedures: list[str]  # the procedures the plan calls, as the server names them


def _operators(plan: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield plan
    for child in plan.get("children") or ():
        yield from _operators(child)


def plan_of(store: Store, explain_text: str, params: Mapping[str, Any]) -> StatementPlan:
    """The server's plan of ``explain_text`` (a statement led by EXPLAIN, which the server
    plans and does not run), read in a READ session. Driver errors propagate untranslated."""
    with store.session(default_access_mode=neo4j.READ_ACCESS) as session:
        summary = session.run(explain_text, dict(params)).consume()
    operators, procedures = [], []
    for op in _operators(summary.plan or {}):
        name = str(op.get("operatorType", "")).split("@", 1)[0]
        operators.append(name)
        if name == "ProcedureCall":
            details = str((op.get("args") or {}).get("Details", ""))
            procedures.append(details.split("(", 1)[0].strip().replace("`", ""))
    return StatementPlan(query_type=summary.query_type or None, operators=operators,
                         procedures=procedures)


def run_auto_commit(store: Store, text: str, params: Mapping[str, Any]) -> QueryResult:
    """Run ``text`` as one auto-commit transaction; keep the server's update counters."""
    with store.session(default_access_mode=neo4j.WRITE_ACCESS) as session:
        result = session.run(text, dict(params))
        columns = list(result.keys())
        rows = [[plain(v) for v in record.values()] for record in result]
        counters = nonzero_counters(result.consume())
    return QueryResult(columns, rows, counters)
