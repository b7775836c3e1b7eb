"""Run named queries and user Cypher on the graph database.

Without ``write=True`` a statement runs under credentials the server restricts to reading,
and the server is the guarantee:

- the local ArcadeDB server: as its read-only user ``neuromfa_reader`` (store/server.py),
  whose writes, schema changes, new types, LOAD CSV and writing procedures the server refuses
  (``Neo.ClientError.Security.Forbidden``);
- a NEO4J_URI server: as NEO4J_READ_USERNAME when set, and always in a READ-access-mode
  transaction, which Neo4j enforces (``Neo.ClientError.Statement.AccessMode``). An ArcadeDB
  server named by NEO4J_URI ignores the access mode, so without NEO4J_READ_* user Cypher is
  refused there (named queries, our own reads, still run).

Neo4j Community has no roles: its one user may, even in a READ session, run
``TERMINATE TRANSACTIONS`` and DBMS procedures. So on Neo4j a read-only statement is first
planned by the server (EXPLAIN, which runs nothing) and refused unless the server classifies it
as a read (query type "r"), its plan terminates no transaction and every procedure it calls is
on the read allow-list: the server's parse of the statement, not a scan of its text.

In front of that, a statement scanner refuses, before anything is sent, the clauses that
change data or schema (CREATE, MERGE, SET, DELETE, REMOVE, DROP, FOREACH, LOAD CSV,
``IN [n] [CONCURRENT] TRANSACTIONS``, ...) and ``CALL`` of any procedure not on the read
allow-list: a fast, friendly refusal that names the clause. Reads run in a transaction that
is always rolled back, and update counters the server reports refuse the statement too.

Writes (``write=True``) run as one auto-commit transaction, so schema statements and
``CALL {} IN TRANSACTIONS`` work as the server allows them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import pandas as pd
from neo4j.exceptions import DriverError, Neo4jError

from neuromfa.base.errors import DatabaseError, action, param
from neuromfa.queries.library import QueryInfo, bind_params, get_query
from neuromfa.store.connection import Store, open_store, translate
from neuromfa.store.user_cypher import (
    QueryResult,
    StatementPlan,
    plan_of,
    run_auto_commit,
    run_rolled_back,
)

__all__ = ["QueryResult", "execute", "read_only", "refuse_write_clauses", "run_cypher", "run_named",
           "run_query", "write_clauses"]

WRITE_HINT = f"add {param('write', True)} to run statements that change the database"

# Clause keywords that change data or schema. Matched as whole words outside strings, comments
# and `quoted names`, and not as property keys (n.set), labels (:Create) or map keys ({set: 1}).
_WRITE_WORDS = {
    "CREATE", "MERGE", "SET", "DELETE", "DETACH", "REMOVE", "DROP", "FOREACH", "ALTER",
    "RENAME", "GRANT", "DENY", "REVOKE", "TERMINATE",
}
# Procedures a read may CALL (lower case); anything else is refused without --write.
READ_PROCEDURES = frozenset({"db.labels", "db.relationshiptypes", "db.propertykeys"})
READ_PROCEDURE_PREFIXES = ("db.schema.",)
# A comment is whitespace (an unterminated one runs to the end); a string is one token; a
# `quoted name` is a name (`` escapes a backtick), never a keyword.
_TOKEN_RE = re.compile(
    r"""(?P<skip>//[^\n]*|/\*.*?(?:\*/|\Z))"""
    r"""|(?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")"""
    r"""|(?P<name>`(?:[^`]|``)*`)"""
    r"""|(?P<word>[^\W\d]\w*)"""
    r"""|(?P<other>\S)""",
    re.DOTALL,
)
_POSITION_RE = re.compile(r"line (\d+)(?:, column |:)(\d+)")
_QUOTED_RE = re.compile(r"""'([^'\s]{2,})'|"([^"\s]{2,})\"""")


def _tokens(text: str) -> Iterator[tuple[str, str]]:
    """(kind, value) of each token: word, name (a `quoted name`, unquoted), string, other."""
    for m in _TOKEN_RE.finditer(text):
        kind = m.lastgroup or "other"
        if kind == "name":
            yield kind, m.group(kind)[1:-1].replace("``", "`")
        elif kind != "skip":
            yield kind, m.group(kind)


def _procedure_name(tokens: list[tuple[str, str]], start: int) -> str | None:
    """The dotted name of the procedure a CALL at ``start - 1`` names (None: a subquery)."""
    parts: list[str] = []
    j = start
    while j < len(tokens) and tokens[j][0] in ("word", "name"):
        parts.append(tokens[j][1])
        if j + 2 < len(tokens) and tokens[j + 1][1] == "." and tokens[j + 2][0] in ("word", "name"):
            j += 2
            continue
        break
    return ".".join(parts) or None


def is_read_procedure(name: str) -> bool:
    lower = name.lower()
    return lower in READ_PROCEDURES or lower.startswith(READ_PROCEDURE_PREFIXES)


def write_clauses(text: str) -> list[str]:
    """The write clauses a Cypher statement contains (upper case, in order of appearance),
    with ``CALL name`` for every procedure not on the read allow-list."""
    tokens = list(_tokens(text))
    found: list[str] = []
    for i, (kind, value) in enumerate(tokens):
        if kind != "word":
            continue
        prev_kind, prev = tokens[i - 1] if i > 0 else ("", "")
        nxt_kind, nxt = tokens[i + 1] if i + 1 < len(tokens) else ("", "")
        after_sigil = prev in (".", ":", "$") and prev_kind == "other"
        before_sigil = nxt in (":", ".") and nxt_kind == "other"
        if after_sigil or before_sigil:
            continue  # a property key, label, parameter, map key or namespace (merge.node)
        word = value.upper()
        if word in _WRITE_WORDS:
            found.append(word)
        elif word == "LOAD" and nxt.upper() == "CSV":
            found.append("LOAD CSV")
        elif word == "TRANSACTIONS" and prev.upper() != "SHOW":
            found.append("IN TRANSACTIONS")  # IN [n] [CONCURRENT] TRANSACTIONS [OF ...]
        elif word == "CALL":
            name = _procedure_name(tokens, i + 1)
            if name is not None and not is_read_procedure(name):
                found.append(f"CALL {name}")
    return found


def refuse_write_clauses(text: str) -> None:
    """Raise the read-only refusal when ``text`` holds a write clause (checked before sending)."""
    clauses = write_clauses(text)
    if clauses:
        raise _refusal(", ".join(dict.fromkeys(clauses)))


def _refusal(what: str) -> DatabaseError:
    """The scanner's refusal: the statement was never sent, so nothing can have changed."""
    return DatabaseError(f"refused: the statement writes to the database ({what}) and runs "
                         f"read-only; it was not sent, nothing was changed", hint=WRITE_HINT)


def _server_refusal(detail: str) -> DatabaseError:
    """The server refused a write of the read-only user or READ transaction."""
    return DatabaseError(f"refused by the graph server: the statement tries to write and runs "
                         f"read-only ({_first_line(detail)})", hint=WRITE_HINT)


def _first_line(text: str) -> str:
    return next((ln.strip() for ln in text.splitlines() if ln.strip()), text.strip())


def _offending_line(text: str, message: str) -> tuple[int, str] | None:
    """(line number, line) of ``text`` that the server's message points at: its position when
    it gives one, else the first line holding a quoted name from the message."""
    lines = text.splitlines() or [text]
    m = _POSITION_RE.search(message)
    if m and 1 <= int(m.group(1)) <= len(lines):
        n = int(m.group(1))
        return n, lines[n - 1]
    for q in _QUOTED_RE.finditer(message):
        token = q.group(1) or q.group(2)
        for n, line in enumerate(lines, 1):
            if token in line:
                return n, line
    if len(lines) == 1:
        return 1, lines[0]
    return None


def _is_access_mode(exc: Neo4jError) -> bool:
    """The server refused a write because of the session's mode or the user's permissions."""
    code = exc.code or ""
    return code.endswith(("Statement.AccessMode", "ForbiddenDueToTransactionType",
                          "Security.Forbidden"))


def statement_error(exc: Neo4jError, text: str, *, named: str | None = None) -> DatabaseError:
    """The server's rejection of ``text`` as a DatabaseError: its message (first line) and the
    offending line of the statement."""
    code = exc.code or ""
    if _is_access_mode(exc):
        return _server_refusal(exc.message or code)
    message = _first_line(exc.message or str(exc)) or code
    where = _offending_line(text, exc.message or "")
    at = f" (line {where[0]}: {where[1].strip()})" if where else ""
    what = f"query {named!r}" if named else "the statement"
    hint = (f"check its parameters ({action('list_queries')} shows their types)" if named
            else f"fix the Cypher; values belong in {param('params.name', 'value')}, used as $name")
    return DatabaseError(f"the graph database rejected {what}: {message}{at}", hint=hint)


def explain_text(text: str) -> str:
    """``text`` as a statement the server plans without running it: EXPLAIN in front, or in
    place of a leading PROFILE (the two cannot be combined)."""
    tokens = [m for m in _TOKEN_RE.finditer(text) if m.lastgroup != "skip"]
    i = 0
    if tokens and tokens[0].group().upper() == "CYPHER":  # CYPHER 5 runtime=slotted ...
        i = 1
        while i < len(tokens):
            if tokens[i].lastgroup == "other":
                i += 1
            elif i + 1 < len(tokens) and tokens[i + 1].group() == "=":
                i += 3
            else:
                break
    if i < len(tokens) and tokens[i].lastgroup == "word" and tokens[i].group().upper() == "PROFILE":
        start, end = tokens[i].span()
        return f"{text[:start]}EXPLAIN{text[end:]}"
    return f"EXPLAIN {text}"


def plan_refusals(plan: StatementPlan) -> list[str]:
    """What in the server's plan a read-only statement may not do (empty: it may run)."""
    found: list[str] = []
    if plan.query_type is None:
        found.append("the server gave it no query type")
    elif plan.query_type != "r":
        found.append(f"the server classifies it as {_QUERY_TYPES[plan.query_type]}")
    found += [f"{op} (an administration command)" for op in dict.fromkeys(plan.operators)
              if op.startswith("Terminate")]
    found += [f"CALL {p} (not a read procedure)" for p in dict.fromkeys(plan.procedures)
              if not is_read_procedure(p)]
    return found


_QUERY_TYPES = {"w": "a write", "rw": "a read-write", "s": "a schema or DBMS statement"}


def refuse_unsafe_plan(store: Store, text: str, params: Mapping[str, Any]) -> None:
    """On a server whose READ sessions let administration through (Neo4j), refuse ``text``
    unless the server's own plan of it is a plain read (see the module docstring)."""
    if not store.enforces_read_sessions():
        return  # ArcadeDB: the read-only user is the guarantee, and it has no such commands
    refusals = plan_refusals(plan_of(store, explain_text(text), params))
    if refusals:
        raise DatabaseError(
            f"refused by the graph server's plan of the statement: {'; '.join(refusals)}, and "
            f"it runs read-only; it was planned (EXPLAIN), not run, nothing was changed",
            hint=WRITE_HINT)


def read_only(store: Store, text: str, params: Mapping[str, Any]) -> QueryResult:
    """Run ``text`` read-only and rolled back; refuse it (DatabaseError) when the server's plan
    of it is not a plain read (Neo4j), the server refuses a write or it reports any update. The
    read-only guarantee comes from ``store``'s credentials (see ``Store.reader()``) and, on
    Neo4j, its READ sessions. Other driver errors are not translated here."""
    try:
        refuse_unsafe_plan(store, text, params)
        result, updated = run_rolled_back(store, text, params)
    except Neo4jError as exc:
        if _is_access_mode(exc):
            raise _server_refusal(exc.message or exc.code or "") from None
        raise
    if result.counters or updated:
        changed = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in result.counters.items())
        # Not "nothing was changed": ArcadeDB keeps new types and schema changes after a
        # rollback, which only a read-only user prevents.
        raise DatabaseError(
            f"refused: the server reported updates ({changed or 'unspecified'}) for a statement "
            f"that runs read-only; its transaction was rolled back", hint=WRITE_HINT)
    return result


_STATEMENT_CODES = ("Neo.ClientError.Statement.", "Neo.ClientError.Procedure.",
                    "Neo.DatabaseError.Statement.", "Neo.DatabaseError.General.")


def execute(text: str, params: Mapping[str, Any] | None = None, *, write: bool = False,
            store: Store | None = None, named: str | None = None) -> QueryResult:
    """Run one Cypher statement with Bolt parameters; see the module docstring for the
    read-only guarantee. Raises DatabaseError with the server's message on failure."""
    params = dict(params or {})
    if not write:
        refuse_write_clauses(text)
    if store is None:
        with open_store(read_only=not write) as own:
            return execute(text, params, write=write, store=own, named=named)
    try:
        if write:
            return run_auto_commit(store, text, params)
        return read_only(_reading_store(store, named), text, params)
    except Neo4jError as exc:
        if (exc.code or "").startswith(_STATEMENT_CODES):
            raise statement_error(exc, text, named=named) from None
        raise translate(exc, store.uri, store.username) from None
    except DriverError as exc:
        raise translate(exc, store.uri, store.username) from None


def _reading_store(store: Store, named: str | None) -> Store:
    """``store`` as the read-only user; without one, ``store`` itself where the server
    enforces READ sessions (Neo4j) or for our own named queries."""
    reader = store.reader()
    if reader.read_only or named is not None or reader.enforces_read_sessions():
        return reader
    raise DatabaseError(
        f"the graph server at {store.uri} is ArcadeDB, which ignores read-only sessions, and "
        f"no read-only user is configured for it", hint="set NEO4J_READ_USERNAME and "
        f"NEO4J_READ_PASSWORD to a user of a read-only group, or add {param('write', True)}")


# limit=0 asks for every row; Cypher's LIMIT needs a number, so 0 is sent as this one (ArcadeDB
# rejects an ORDER BY ... LIMIT 2**31 - 1, an int overflow there; 10**9 passes on both servers).
ALL_ROWS = 10**9
_ROW_LIMIT_RE = re.compile(r"\bLIMIT\s+\$limit\b", re.IGNORECASE)


def run_named(info: QueryInfo, params: Mapping[str, Any],
              store: Store | None = None) -> QueryResult:
    """Run a named query with its parameters typed and defaulted from its header. A ``limit``
    of 0 means every row. A query cut at its row limit says so: ``result.truncated`` is that
    limit when more rows exist (asked for with one row more than the limit)."""
    bound = bind_params(info, params)
    limit = bound.get("limit") if any(p.name == "limit" for p in info.params) else None
    probe = isinstance(limit, int) and limit > 0 and _ROW_LIMIT_RE.search(info.text) is not None
    if limit == 0:
        bound["limit"] = ALL_ROWS
    elif probe:
        assert isinstance(limit, int)
        bound["limit"] = limit + 1
    result = execute(info.text, bound, store=store, named=info.name)
    if not result.columns:  # ArcadeDB sends no column names with an empty result
        result.columns = list(info.returns)
    if probe and isinstance(limit, int) and len(result.rows) > limit:
        result.rows = result.rows[:limit]
        result.truncated = limit
    return result


def run_query(name: str, store: Store | None = None, **params: Any) -> pd.DataFrame:
    """Run the named query ``name`` and return its rows as a DataFrame (columns in RETURN
    order). Parameters are typed from the query's header; missing ones take their defaults.

    >>> run_query("strongest-synapses", kind="attn_out", block=0, limit=5)  # doctest: +SKIP
    """
    return run_named(get_query(name), params, store=store).frame()


def run_cypher(text: str, params: Mapping[str, Any] | None = None, write: bool = False,
               store: Store | None = None) -> pd.DataFrame:
    """Run your own Cypher (values as ``$name`` parameters). Read-only unless ``write=True``:
    it then runs as the read-only user, and a write raises DatabaseError. The DataFrame's
    ``attrs["counters"]`` holds the server's update counters of a write."""
    return execute(text, params, write=write, store=store).frame()
