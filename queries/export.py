"""Query results as a terminal table, JSON, CSV or Parquet."""

from __future__ import annotations

import csv
import enum
import io
import json
import math
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table
from rich.text import Text

from neuromfa.base.errors import ConfigError, param
from neuromfa.queries.runner import QueryResult


class Format(str, enum.Enum):
    table = "table"
    json = "json"
    csv = "csv"
    parquet = "parquet"


def _json_default(value: Any) -> Any:
    # datetime/date/time/duration and anything else the driver may hand back
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _clean(value: Any) -> Any:
    """NaN/inf are not JSON: they become null (the server never stores them on purpose)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


def to_json(result: QueryResult) -> str:
    """A JSON array of row objects (columns in order; null for missing values)."""
    records = [{c: _clean(v) for c, v in zip(result.columns, row)} for row in result.rows]
    return json.dumps(records, indent=2, default=_json_default) + "\n"


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(_clean(value), default=_json_default)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    return value


def to_csv(result: QueryResult) -> str:
    """CSV with a header row; lists and maps as JSON, null as an empty cell."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow([_csv_cell(v) for v in row])
    return buf.getvalue()


def _table_cell(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, dict)):
        return json.dumps(_clean(value), default=_json_default)
    return str(value)


def cell_text(value: Any) -> str:
    """A value as a table cell shows it."""
    return _table_cell(value)


def _caption(result: QueryResult) -> str:
    return f"{len(result.rows)} row{'s' if len(result.rows) != 1 else ''}"


def to_table(result: QueryResult, title: str | None = None) -> Table:
    """One line per row (cells that do not fit are folded)."""
    table = Table(title=Text(title) if title else None, caption=_caption(result))
    for column in result.columns:
        table.add_column(Text(column), overflow="fold")
    for row in result.rows:
        table.add_row(*(Text(_table_cell(v)) for v in row))  # data is never markup
    return table


def to_records_table(result: QueryResult, title: str | None = None) -> Table:
    """One block per row, one line per column (psql's expanded display): for rows too wide
    for the terminal."""
    table = Table(title=Text(title) if title else None, caption=_caption(result),
                  show_header=False, show_lines=True)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for row in result.rows:
        table.add_row(Text("\n".join(result.columns)),
                      Text("\n".join(_table_cell(v) for v in row)))
    return table


def table_for(result: QueryResult, width: int, title: str | None = None) -> Table:
    """The row table when every cell fits in ``width`` columns, else the expanded one."""
    cells = [[_table_cell(v) for v in row] for row in result.rows]
    natural = sum(max([len(c)] + [len(r[i]) for r in cells]) + 3
                  for i, c in enumerate(result.columns)) + 1
    if natural <= width or not result.rows:
        return to_table(result, title)
    return to_records_table(result, title)


def write_parquet(result: QueryResult, out: Path) -> None:
    """A Parquet file (columns typed by pyarrow; columns it cannot type are stored as JSON)."""
    columns: dict[str, pa.Array] = {}
    for i, name in enumerate(result.columns):
        values = [row[i] for row in result.rows]
        try:
            columns[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
            columns[name] = pa.array(
                [None if v is None else json.dumps(_clean(v), default=_json_default) for v in values],
                type=pa.string())
    pq.write_table(pa.table(columns) if columns else pa.table({}), out)


def render(result: QueryResult, fmt: Format, *, out: Path | None = None, title: str | None = None,
           console: Console | None = None) -> None:
    """Print ``result`` in ``fmt`` (to ``out`` when given; parquet needs ``out``)."""
    try:
        _render(result, fmt, out=out, title=title, console=console)
    except OSError as exc:
        raise ConfigError(f"cannot write {out}: {exc.strerror or exc}",
                          hint=f"check {param('out')} and its folder") from None


def _render(result: QueryResult, fmt: Format, *, out: Path | None, title: str | None,
            console: Console | None) -> None:
    if fmt is Format.parquet:
        if out is None:
            raise ConfigError(f"{param('fmt', 'parquet')} writes a file", hint=f"add {param('out', 'FILE.parquet')}",
                              param="out")
        write_parquet(result, out)
        return
    if fmt is Format.table:
        if out is None:
            con = console or Console()
            if not result.rows:  # one line, not an empty frame (or a blank line without columns)
                con.print(f"{title}: 0 rows" if title else "0 rows")
                return
            con.print(table_for(result, con.width, title))
        else:
            with open(out, "w") as fh:
                Console(file=fh, width=250, color_system=None).print(
                    table_for(result, 250, title))
        return
    text = to_json(result) if fmt is Format.json else to_csv(result)
    if out is None:
        sys.stdout.write(text)
    else:
        Path(out).write_text(text)
