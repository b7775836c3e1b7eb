"""Print rows as a table, JSON, CSV or Parquet (or write them to a file): every listing
command renders through the query library's exporter, so all output looks alike.

A table on the terminal fits its width (80 columns when it is not a terminal): columns that do
not fit are left out, those the command names first, then from the right, and one line on
stderr says which; --wide shows every column (folded or one block per row, as before)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from neuromfa.cli.console import console, err_console
from neuromfa.queries.export import Format, cell_text, render
from neuromfa.queries.runner import QueryResult

__all__ = ["Format", "emit", "fit_columns"]

WIDE_HELP = "Show every column (default: the columns that fit the terminal)."


def _natural(df: pd.DataFrame, column: str) -> int:
    """Width of a column at its longest cell (or header), with the table's 3 of padding and rule."""
    cells = [len(cell_text(None if pd.isna(v) else v)) if not isinstance(v, (list, dict)) else len(cell_text(v))
             for v in df[column].tolist()]
    return max([len(str(column)), *cells]) + 3


def fit_columns(df: pd.DataFrame, width: int, drop_first: Sequence[str] = ()) -> tuple[pd.DataFrame, list[str]]:
    """``df`` with the columns that fit in ``width`` terminal columns, and the names left out:
    ``drop_first`` in their order, then from the right (the first column always stays)."""
    keep = [str(c) for c in df.columns]
    sizes = {c: _natural(df, c) for c in keep}
    order = [c for c in drop_first if c in sizes] + [c for c in reversed(keep) if c not in drop_first]
    hidden: list[str] = []
    for column in order:
        if sum(sizes[c] for c in keep) + 1 <= width or len(keep) == 1:
            break
        keep.remove(column)
        hidden.append(column)
    return df[keep], [c for c in df.columns if c in hidden]


def emit(rows: list[dict] | pd.DataFrame, fmt: Format | str = Format.table, *, title: str | None = None,
         out: Path | None = None, wide: bool | None = None, drop_first: Sequence[str] = ()) -> None:
    """Render ``rows`` in ``fmt``; to ``out`` when given (Parquet needs it), else to stdout. A
    terminal table keeps the columns that fit when ``wide`` is False (a command with --wide;
    None: every column, for commands without the flag)."""
    df = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
    if Format(fmt) is Format.table and out is None and wide is False and len(df) and len(df.columns) > 1:
        df, hidden = fit_columns(df, console.width, drop_first)
        if hidden:
            err_console.print(f"not shown at this width: {', '.join(hidden)} (--wide or --format csv shows every column)")
    values = df.astype(object).where(df.notna(), None).to_numpy().tolist()
    render(QueryResult(columns=[str(c) for c in df.columns], rows=values), Format(fmt), out=out, title=title,
           console=console)
