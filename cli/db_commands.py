"""`neuromfa db start | stop | status | schema`: the local graph server and the schema."""

from __future__ import annotations

from typing import Annotated

import typer

from neuromfa.base.errors import DatabaseError
from neuromfa.base.settings import Engine, redact_uri
from neuromfa.cli.console import console, err_console
from neuromfa.store.connection import database_settings, open_store
from neuromfa.store.neo4j_server import LocalNeo4j, local_server
from neuromfa.store.server import READER_USER, LocalServer, State, home_settings

db_app = typer.Typer(
    help="Manage the local graph server (used when NEO4J_URI is not set) and the schema.",
    no_args_is_help=True,
)


EngineOption = Annotated[Engine | None, typer.Option(
    "--engine", help="Which local server: arcadedb or neo4j (default: NEUROMFA_ENGINE, "
                     "else arcadedb).", case_sensitive=False, show_default=False)]


def _server(engine: Engine | None) -> LocalServer:
    settings = home_settings()
    if engine is not None:
        settings = settings.model_copy(update={"engine": engine})
    return local_server(settings)


@db_app.command()
def start(engine: EngineOption = None) -> None:
    """Start the local server (ArcadeDB, or Neo4j with --engine neo4j; Bolt on 127.0.0.1) and
    wait until it answers."""
    server = _server(engine)
    if database_settings().uri:
        err_console.print("note: NEO4J_URI is set, so neuromfa uses that server; this starts "
                          "only the local one.")
    if not server.is_running():
        console.print(f"starting the {server.label} in {server.home} "
                      f"({server.first_start_note})")
    result = server.start()
    if result.already_running:
        console.print(f"the {server.label} is already running (pid {result.pid}) "
                      f"at {server.uri}, database {server.database}")
    else:
        console.print(f"{server.label} running at {server.uri} (pid {result.pid}, "
                      f"database {server.database}, ready in {result.seconds:.1f} s)")


@db_app.command()
def stop(engine: EngineOption = None) -> None:
    """Stop the local graph server (SIGTERM, then SIGKILL after 30 s)."""
    server = _server(engine)
    if server.stop():
        console.print(f"stopped the {server.label}")
    else:
        console.print(f"the {server.label} is not running")


@db_app.command()
def status(engine: EngineOption = None) -> None:
    """Show the graph server in use and whether it answers (exit 1 when it does not)."""
    settings = database_settings()
    server = _server(engine)
    st = server.status()
    if settings.uri:
        console.print(f"server:    NEO4J_URI {redact_uri(settings.uri)}")
        console.print(f"database:  {settings.database or '(server default)'}")
        reader = settings.read_username or "not set (NEO4J_READ_USERNAME): READ sessions only"
        console.print(f"read-only: {reader}")
        reachable, reason = _reachable()
        console.print(f"reachable: {'yes' if reachable else 'no'}{reason}")
        local = f"{st.state.value}" + (f" (pid {st.pid})" if st.pid else "")
        console.print(f"local server ({server.home}): {local}, not used while NEO4J_URI is set")
        raise typer.Exit(0 if reachable else 1)
    console.print(f"server:    local {server.engine_name}, {st.state.value}")
    console.print(f"uri:       {st.uri}")
    console.print(f"database:  {settings.database or st.database}")
    console.print(f"data dir:  {st.data_dir}")
    if not isinstance(server, LocalNeo4j):
        console.print(f"read-only: {READER_USER} (password in {server.reader_password_file})")
    else:
        console.print(f"read-only: READ sessions, which {server.engine_name} enforces "
                      f"(password of {server.username} in {server.password_file})")
    console.print(f"pid:       {st.pid if st.pid is not None else '-'}")
    reachable, reason = _reachable(server) if st.state is State.RUNNING else (False, "")
    console.print(f"reachable: {'yes' if reachable else 'no'}{reason}")
    if st.state is State.STALE:
        console.print(f"the pid file {server.pid_file} is left over from a server that is gone; "
                      f"`neuromfa db start` replaces it")
    elif st.state is State.STOPPED:
        flag = "" if server.engine_name == "ArcadeDB" else " --engine neo4j"
        console.print(f"start it with `neuromfa db start{flag}`")
    raise typer.Exit(0 if reachable else 1)


def _reachable(server: LocalServer | None = None) -> tuple[bool, str]:
    try:
        with open_store(autostart=False, server=server):
            return True, ""
    except DatabaseError as exc:
        return False, f" ({exc.message})"


@db_app.command()
def schema() -> None:
    """Apply the constraints and indexes (idempotent) and list them."""
    with open_store(notify=err_console.print) as store:
        store.apply_schema()
        current = store.schema()
    console.print(f"schema applied to {store.uri}, database {store.database or '(default)'}:")
    for c in current["constraints"]:
        console.print(f"  constraint {c.get('name')}: {','.join(c.get('labelsOrTypes') or [])}"
                      f"({', '.join(c.get('properties') or [])}) {c.get('type')}")
    for i in current["indexes"]:
        if i.get("owningConstraint") or i.get("type") == "LOOKUP":
            continue  # shown with its constraint / Neo4j's built-in token lookup indexes
        console.print(f"  index {i.get('name')}: {','.join(i.get('labelsOrTypes') or [])}"
                      f"({', '.join(i.get('properties') or [])})")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
