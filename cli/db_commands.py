"""`neuromfa db start | stop | status | schema`: the local graph server and the schema."""

from __future__ import annotations

import typer

from neuromfa.base.errors import DatabaseError
from neuromfa.base.settings import redact_uri
from neuromfa.cli.console import console, err_console
from neuromfa.store.connection import database_settings, open_store
from neuromfa.store.server import READER_USER, LocalServer, State

db_app = typer.Typer(
    help="Manage the local graph server (used when NEO4J_URI is not set) and the schema.",
    no_args_is_help=True,
)


@db_app.command()
def start() -> None:
    """Start the local ArcadeDB server (Bolt on 127.0.0.1) and wait until it answers."""
    server = LocalServer()
    if database_settings().uri:
        err_console.print("note: NEO4J_URI is set, so neuromfa uses that server; this starts "
                          "only the local one.")
    if not server.is_running():
        console.print(f"starting the local graph server in {server.home} "
                      f"(first start takes a few seconds)")
    result = server.start()
    if result.already_running:
        console.print(f"the local graph server is already running (pid {result.pid}) "
                      f"at {server.uri}, database {server.database}")
    else:
        console.print(f"local graph server running at {server.uri} (pid {result.pid}, "
                      f"database {server.database}, ready in {result.seconds:.1f} s)")


@db_app.command()
def stop() -> None:
    """Stop the local graph server (SIGTERM, then SIGKILL after 30 s)."""
    server = LocalServer()
    if server.stop():
        console.print("stopped the local graph server")
    else:
        console.print("the local graph server is not running")


@db_app.command()
def status() -> None:
    """Show the graph server in use and whether it answers (exit 1 when it does not)."""
    settings = database_settings()
    server = LocalServer()
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
    console.print(f"server:    local ArcadeDB, {st.state.value}")
    console.print(f"uri:       {st.uri}")
    console.print(f"database:  {settings.database or st.database}")
    console.print(f"data dir:  {st.data_dir}")
    console.print(f"read-only: {READER_USER} (password in {server.reader_password_file})")
    console.print(f"pid:       {st.pid if st.pid is not None else '-'}")
    reachable, reason = _reachable() if st.state is State.RUNNING else (False, "")
    console.print(f"reachable: {'yes' if reachable else 'no'}{reason}")
    if st.state is State.STALE:
        console.print(f"the pid file {server.pid_file} is left over from a server that is gone; "
                      f"`neuromfa db start` replaces it")
    elif st.state is State.STOPPED:
        console.print("start it with `neuromfa db start`")
    raise typer.Exit(0 if reachable else 1)


def _reachable() -> tuple[bool, str]:
    try:
        with open_store(autostart=False):
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
