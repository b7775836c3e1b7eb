"""`neuromfa query`: the named query library and your own Cypher."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table
from rich.text import Text

from neuromfa.base.errors import ConfigError
from neuromfa.cli.console import console, err_console
from neuromfa.queries.export import Format, render
from neuromfa.queries.library import (
    QueryInfo,
    bind_params,
    get_query,
    json_value,
    list_queries,
    parse_assignments,
)
from neuromfa.queries.runner import QueryResult, execute, refuse_write_clauses, run_named
from neuromfa.store.connection import open_store


def _library_table() -> Table:
    table = Table(title="named queries: neuromfa query NAME [--param name=value ...]",
                  caption="neuromfa query --list NAME: a query's parameters, types, defaults "
                          "and an example")
    table.add_column("name", no_wrap=True)
    table.add_column("description", overflow="fold", ratio=3)
    table.add_column("parameters", overflow="fold", ratio=1)
    for info in list_queries():
        table.add_row(info.name, Text(info.description),
                      ", ".join(p.name for p in info.params) or "-")
    return table


def _query_details(info: QueryInfo) -> None:
    console.print(Text.assemble((info.name, "bold"), f": {info.description}"))
    table = Table(show_header=True, box=None, pad_edge=False)
    for column in ("parameter", "type", "default", "description"):
        table.add_column(column, overflow="fold")
    for p in info.params:
        kind = p.type + (f" {p.constraint()}" if p.constraint() else "")
        table.add_row(p.name, kind, p.default_text(),
                      Text(p.description))
    if info.params:
        console.print(table)
    console.print(f"returns: {', '.join(info.returns)}")
    for note in info.notes:
        console.print(f"note: {note}")
    console.print(f"example: {info.example}")


def _list(name: Optional[str], fmt: Format, out: Optional[Path]) -> None:
    if name is not None:
        _query_details(get_query(name))
        return
    if fmt is Format.table and out is None:
        console.print(_library_table())
        return
    rows = [[q.name, q.description, [p.model_dump() for p in q.params], list(q.returns), q.example]
            for q in list_queries()]
    render(QueryResult(["name", "description", "params", "returns", "example"], rows), fmt, out=out,
           title="named queries", console=console)


def _statement_text(cypher: str) -> str:
    """--cypher's text; ``@FILE`` (Cypher never starts with @) reads it from FILE."""
    if not cypher.startswith("@"):
        return cypher
    path = Path(cypher[1:])
    try:
        return path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read the Cypher file {path}: {exc.strerror or exc}",
                          hint="--cypher @FILE names a file holding one statement") from None


def query(
    name: Optional[str] = typer.Argument(None, help="A named query (see --list)."),
    list_: bool = typer.Option(False, "--list", "-l",
                               help="List the named queries (with NAME: that query's parameters)."),
    param: list[str] = typer.Option([], "--param", "-p", metavar="NAME=VALUE",
                                    help="A query parameter (repeatable); sent as a Bolt parameter."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    out: Optional[Path] = typer.Option(None, "--out", "-o",
                                       help="Write to this file instead of the terminal."),
    cypher: Optional[str] = typer.Option(None, "--cypher", "-c",
                                         help="Run your own Cypher statement (values as $name "
                                              "with --param; read-only unless --write); "
                                              "@FILE reads it from a file."),
    write: bool = typer.Option(False, "--write",
                               help="Allow --cypher to change the database."),
) -> None:
    """Run a named query from the library, or your own Cypher, on the graph database."""
    if list_:
        if cypher is not None or param or write:
            raise ConfigError("--list takes no --cypher, --param or --write")
        _list(name, fmt, out)
        return
    if cypher is not None and name is not None:
        raise ConfigError(f"give a query name ({name!r}) or --cypher, not both")
    if cypher is None and name is None:
        raise ConfigError("no query given",
                          hint="`neuromfa query --list` shows the named queries; "
                               "--cypher \"...\" runs your own")
    if write and cypher is None:
        raise ConfigError("--write only applies to --cypher", hint="named queries only read")
    if fmt is Format.parquet and out is None:
        raise ConfigError("--format parquet writes a file", hint="add --out FILE.parquet")
    given = parse_assignments(param)
    if cypher is not None:
        cypher = _statement_text(cypher)
        if not cypher.strip():
            raise ConfigError("--cypher is empty")
        params = {k: json_value(v) for k, v in given.items()}
        if not write:
            refuse_write_clauses(cypher)  # before the database is opened (or started)
        with open_store(notify=err_console.print, read_only=not write) as store:
            result = execute(cypher, params, write=write, store=store)
        title = None
    else:
        assert name is not None  # no --cypher means a name (checked above)
        info = get_query(name)
        bind_params(info, given)  # bad parameters fail before the database is opened
        with open_store(notify=err_console.print, read_only=True) as store:
            result = run_named(info, given, store=store)
        title = info.name
    render(result, fmt, out=out, title=title, console=console)
    if result.truncated is not None:
        err_console.print(f"showing the first {result.truncated:,} rows; more exist (--param limit=0 for all)")
    if result.counters:
        changed = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in result.counters.items())
        err_console.print(f"changed: {changed}")
    elif write:
        err_console.print("changed: nothing")
    if out is not None:
        err_console.print(f"wrote {len(result.rows)} rows to {out}")


def register(app: typer.Typer) -> None:
    app.command("query")(query)
