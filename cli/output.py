"""Print rows as a table, JSON or CSV (or write them to a file): shared by every listing command."""

from __future__ import annotations

import enum
import json
import sys
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table


class Format(str, enum.Enum):
    table = "table"
    json = "json"
    csv = "csv"


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def emit(rows: list[dict] | pd.DataFrame, fmt: Format | str = Format.table, *, title: str | None = None,
         out: Path | None = None) -> None:
    """Render ``rows`` in ``fmt``; JSON and CSV go to ``out`` when given, else to stdout."""
    df = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
    fmt = Format(fmt)
    if fmt is Format.json:
        text = json.dumps(json.loads(df.to_json(orient="records")), indent=2) + "\n"
    elif fmt is Format.csv:
        text = df.to_csv(index=False)
    else:
        table = Table(title=title, show_lines=False)
        for col in df.columns:
            table.add_column(str(col), overflow="fold")
        for rec in df.itertuples(index=False):
            table.add_row(*(_cell(v) for v in rec))
        if out:
            with open(out, "w") as fh:
                Console(file=fh, width=200).print(table)
        else:
            Console().print(table)
        return
    if out:
        Path(out).write_text(text)
    else:
        sys.stdout.write(text)
