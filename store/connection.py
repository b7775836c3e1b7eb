"""The one place that opens the graph database: `open_store()` -> `Store`.

With NEO4J_URI set, neuromfa talks to that server; without it, to the local server that
NEUROMFA_ENGINE names (ArcadeDB, store/server.py, by default; or Neo4j, store/neo4j_server.py),
started on demand. Both speak Bolt, so the same `neo4j` driver and the
same Cypher serve both. Driver failures become one-line `DatabaseError`s with a hint.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import neo4j
from neo4j import GraphDatabase
from neo4j.exceptions import (
    AuthError,
    ClientError,
    ConstraintError,
    CypherSyntaxError,
    DriverError,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
)

from neuromfa.base.errors import ConfigError, DatabaseError, action
from neuromfa.base.settings import DatabaseSettings, redact_uri
from neuromfa.base.validation import validate
from neuromfa.store.named import DriverTx, NamedTx
from neuromfa.store.neo4j_server import local_server
from neuromfa.store.schema import schema_statements
from neuromfa.store.server import LocalServer
from neuromfa.store.statements import cypher

# The driver logs "Transaction failed and will be retried" and server notifications as
# warnings; without a handler Python's last-resort handler would print them on stderr.
logging.getLogger("neo4j").addHandler(logging.NullHandler())

T = TypeVar("T")

CONNECTION_TIMEOUT_S = 5.0  # a server that is down fails fast
MAX_RETRY_TIME_S = 10.0  # managed transactions retry transient errors this long: a dead server
# fails a call within about CONNECTION_TIMEOUT_S + MAX_RETRY_TIME_S + CONNECTION_TIMEOUT_S

BOLT_SCHEMES = {"bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc"}
DOWN_HINT = f"start it with {action('db_start')} or check NEO4J_URI"


class ConstraintViolation(DatabaseError):
    """A write broke a uniqueness constraint (the record already exists)."""


# user:password@ inside any URI-looking text (a driver message may quote the URI it was given)
_USERINFO_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^\s/@'\"]*@")


def _one_line(text: str, limit: int = 300) -> str:
    text = _USERINFO_RE.sub(r"\1***@", " ".join(str(text).split()))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def translate(exc: BaseException, uri: str, username: str = "") -> DatabaseError:
    """A driver exception as the DatabaseError users see (one line + hint); a password in
    ``uri`` is never shown."""
    if isinstance(exc, DatabaseError):
        return exc
    uri = redact_uri(uri)
    if isinstance(exc, AuthError):
        return DatabaseError(
            f"the graph database at {uri} refused the credentials of user {username!r}",
            hint="check NEO4J_USERNAME and NEO4J_PASSWORD (NEO4J_READ_* for the read-only "
                 "user); the local server's are in $NEUROMFA_HOME/root-password and "
                 "reader-password")
    if isinstance(exc, (ServiceUnavailable, SessionExpired)):
        return DatabaseError(f"cannot reach the graph database at {uri}", hint=DOWN_HINT)
    if isinstance(exc, Neo4jError):
        code = exc.code or ""
        message = _one_line(exc.message or str(exc))
        if code.endswith("DatabaseNotFound"):
            return DatabaseError(f"the graph database at {uri} has no such database: {message}",
                                 hint="check NEO4J_DATABASE")
        if isinstance(exc, ConstraintError):
            return ConstraintViolation(
                f"the graph database rejected a write that breaks a constraint: {message}",
                hint="the record already exists; delete it first or use another key")
        if isinstance(exc, CypherSyntaxError):
            return DatabaseError(f"the graph database rejected a statement: {message}",
                                 hint="the Cypher has a syntax error")
        # ArcadeDB reports some client errors as DatabaseError.General.UnknownError.
        if isinstance(exc, ClientError) or code.startswith("Neo.DatabaseError"):
            return DatabaseError(f"the graph database rejected a statement: {message}",
                                 hint="check the statement and its parameters")
        return DatabaseError(f"the graph database failed: {message} ({code})",
                             hint="retry; if it persists see the server's log")
    if isinstance(exc, DriverError):
        return DatabaseError(f"graph database driver error talking to {uri}: "
                             f"{_one_line(str(exc))}",
                             hint="retry; if it persists check the server and NEO4J_URI")
    return DatabaseError(_one_line(str(exc)))


@contextlib.contextmanager
def _translated(uri: str, username: str) -> Iterator[None]:
    try:
        yield
    except (DriverError, Neo4jError) as exc:
        raise translate(exc, uri, username) from exc


def _records(result: neo4j.Result) -> list[dict[str, Any]]:
    return [record.data() for record in result]


class Store:
    """An open connection to one database of the graph server. Use as a context manager.

    ``read``/``write`` run one statement in a managed transaction (retried on transient
    errors); ``transaction()`` gives an explicit transaction for several statements that
    must commit together; ``run_in_read_tx``/``run_in_write_tx`` run a function of a
    transaction (retried as a whole, so it must be idempotent up to its own writes).
    ``reader()`` is the same database under the read-only user, when one is known.
    ``uri`` is for messages: any password in it is redacted.
    """

    def __init__(self, driver: neo4j.Driver, *, uri: str, database: str | None,
                 username: str = "", read_only: bool = False):
        self.driver = driver
        self.uri = redact_uri(uri)
        self.database = database
        self.username = username
        self.read_only = read_only  # connected as a user the server restricts to reading
        self.settings: DatabaseSettings | None = None  # set by connect()
        self._reader: Store | None = None
        self._agent: str | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self.driver.close()

    def __repr__(self) -> str:
        return f"Store(uri={self.uri!r}, database={self.database!r})"

    def reader(self) -> Store:
        """This database under the read-only credentials (opened once, closed with this
        Store); ``self`` when it is read-only already or no read-only user is configured."""
        if self.read_only:
            return self
        credentials = self.settings.reader() if self.settings is not None else None
        if credentials is None:
            return self
        if self._reader is None:
            assert self.settings is not None and self.settings.uri
            self._reader = connect(self.settings.uri, *credentials, self.database,
                                   read_only=True)
        return self._reader

    def server_agent(self) -> str:
        """The server's Bolt agent string (e.g. 'Neo4j/5.26.0 compatible (ArcadeDB ...)')."""
        if self._agent is None:
            with _translated(self.uri, self.username):
                self._agent = self.driver.get_server_info().agent or ""
        return self._agent

    def enforces_read_sessions(self) -> bool:
        """Whether the server itself refuses writes in a READ session: Neo4j does, ArcadeDB
        ignores the access mode (it enforces only its users' permissions)."""
        return "arcadedb" not in self.server_agent().lower()

    def session(self, **kwargs: Any) -> neo4j.Session:
        """A raw driver session on this database (errors are NOT translated)."""
        return self.driver.session(database=self.database, **kwargs)

    def check(self) -> None:
        """Connect and authenticate now (raises DatabaseError when that fails)."""
        with _translated(self.uri, self.username):
            self.driver.verify_connectivity()
            with self.session() as session:
                session.run(cypher("ping")).consume()

    # -- statements --------------------------------------------------------------------------
    def read(self, query: str, /, **params: Any) -> list[dict[str, Any]]:
        """Rows of a read-only statement, as dicts."""
        return self.run_in_read_tx(lambda tx: _records(tx.run(query, params)))

    def write(self, query: str, /, **params: Any) -> list[dict[str, Any]]:
        """Run one statement in a managed write transaction (retried on transient errors)."""
        return self.run_in_write_tx(lambda tx: _records(tx.run(query, params)))

    def run_in_read_tx(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """fn(tx, *args, **kwargs) in a managed read transaction."""
        with _translated(self.uri, self.username), self.session() as session:
            return session.execute_read(fn, *args, **kwargs)

    def run_in_write_tx(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """fn(tx, *args, **kwargs) in a managed write transaction, retried on transient
        errors (fn may run more than once; only the last run commits)."""
        with _translated(self.uri, self.username), self.session() as session:
            return session.execute_write(fn, *args, **kwargs)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[neo4j.Transaction]:
        """An explicit write transaction: committed when the block ends normally, rolled
        back on any exception (KeyboardInterrupt included). Not retried."""
        with _translated(self.uri, self.username), self.session() as session:
            tx = session.begin_transaction()
            try:
                yield tx
            except BaseException:
                with contextlib.suppress(DriverError, Neo4jError):
                    tx.rollback()
                raise
            else:
                tx.commit()
            finally:
                with contextlib.suppress(DriverError, Neo4jError):
                    tx.close()

    # -- named statements (store/cypher/NAME.cypher): what the repositories call ------------
    def read_named(self, name: str, /, **params: Any) -> list[dict[str, Any]]:
        """Rows of the read-only statement ``name``."""
        return self.read(cypher(name), **params)

    def write_named(self, name: str, /, **params: Any) -> list[dict[str, Any]]:
        """Rows of statement ``name`` run in a managed write transaction."""
        return self.write(cypher(name), **params)

    def run_in_write_tx_named(self, fn: Callable[[NamedTx], T], /) -> T:
        """``run_in_write_tx`` for a function of a `NamedTx`."""
        return self.run_in_write_tx(lambda tx: fn(DriverTx(tx)))

    @contextlib.contextmanager
    def named_transaction(self) -> Iterator[NamedTx]:
        """``transaction()`` as a `NamedTx`."""
        with self.transaction() as tx:
            yield DriverTx(tx)

    # -- schema ------------------------------------------------------------------------------
    def apply_schema(self) -> list[str]:
        """Create the constraints and indexes of schema/*.cypher (IF NOT EXISTS: idempotent).
        Returns the statements run. Schema statements run as auto-commit queries."""
        statements = schema_statements()
        with _translated(self.uri, self.username), self.session() as session:
            for statement in statements:
                session.run(statement).consume()
        return statements

    def schema(self) -> dict[str, list[dict[str, Any]]]:
        """The server's constraints and indexes (SHOW CONSTRAINTS / SHOW INDEXES)."""
        with _translated(self.uri, self.username), self.session() as session:
            constraints = _records(session.run(cypher("show_constraints")))
            indexes = _records(session.run(cypher("show_indexes")))
        return {"constraints": constraints, "indexes": indexes}


def database_settings() -> DatabaseSettings:
    """NEO4J_* settings; a malformed value becomes a one-line ConfigError."""
    return validate(DatabaseSettings, "setting")


def connect(uri: str, username: str, password: str, database: str | None, *,
            reader: tuple[str, str] | None = None, read_only: bool = False) -> Store:
    """A Store on the given server, checked (connect + authenticate + trivial query).
    ``reader``: credentials of a read-only user on it (``Store.reader()``); ``read_only``:
    ``username`` is such a user."""
    scheme = uri.split("://", 1)[0].lower() if "://" in uri else ""
    shown = redact_uri(uri)
    if scheme not in BOLT_SCHEMES:
        raise ConfigError(f"the graph database address {shown!r} is not a Bolt URI",
                          hint="NEO4J_URI looks like bolt://host:7687 or neo4j://host:7687")
    try:
        driver = GraphDatabase.driver(
            uri, auth=(username, password),
            connection_timeout=CONNECTION_TIMEOUT_S,
            max_transaction_retry_time=MAX_RETRY_TIME_S,
        )
    except (DriverError, ValueError) as exc:
        raise DatabaseError(f"invalid graph database address {shown!r}: "
                            f"{_one_line(str(exc).replace(uri, shown))}",
                            hint="NEO4J_URI looks like bolt://host:7687 or neo4j://host:7687"
                            ) from None
    store = Store(driver, uri=uri, database=database, username=username, read_only=read_only)
    # how to reach the same database again, e.g. from a worker process
    read_username, read_password = reader if reader is not None else (None, None)
    store.settings = DatabaseSettings(uri=uri, username=username, password=password,
                                      database=database, read_username=read_username,
                                      read_password=read_password)
    try:
        store.check()
    except BaseException:
        store.close()
        raise
    return store


def open_store(settings: DatabaseSettings | None = None, *, autostart: bool = True,
               notify: Callable[[str], None] | None = None,
               server: LocalServer | None = None, read_only: bool = False) -> Store:
    """Open the configured database.

    NEO4J_URI set: that server (username defaults to ``neo4j``). Otherwise the local server
    (NEUROMFA_ENGINE) of NEUROMFA_HOME, started when it is not running and ``autostart`` (said
    via ``notify``); its database is NEO4J_DATABASE or its own (``neurons`` on ArcadeDB,
    ``neo4j`` on Neo4j). ``read_only``: connect as the read-only user (the local ArcadeDB's
    own, or NEO4J_READ_USERNAME) when there is one; the local Neo4j has none and relies on
    READ sessions, which it enforces.
    """
    s = settings if settings is not None else database_settings()
    if s.uri:
        reader = s.reader()
        if read_only and reader is not None:
            return connect(s.uri, *reader, s.database, read_only=True)
        return connect(s.uri, s.username or "neo4j", s.password or "", s.database, reader=reader)
    local = server or local_server()
    if not local.is_running():
        if not autostart:
            raise DatabaseError(f"the {local.label} is not running",
                                hint=f"start it with {action('db_start')} or set NEO4J_URI")
        if notify is not None:
            notify(f"starting the {local.label} in {local.home} "
                   f"({local.first_start_note})")
    if autostart:
        # Also when it runs: start() then only waits for a start in progress elsewhere (and
        # gives a server of an older version its read-only user).
        local.start()
    else:
        local.upgrade_running()
    database = s.database or local.database
    reader = local.reader_credentials()
    # NEO4J_USERNAME / NEO4J_PASSWORD belong to the server NEO4J_URI names, not to this one.
    if read_only and reader is not None:
        return connect(local.uri, *reader, database, read_only=True)
    return connect(local.uri, local.username, local.password(), database, reader=reader)
