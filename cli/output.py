"""Print rows as a table, JSON, CSV or Parquet (or write them to a file): every listing
command renders through the query library's exporter, so all output looks alike."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from neuromfa.cli.console import console
from neuromfa.queries.export import Format, render
from neuromfa.queries.runner import QueryResult

__all__ = ["Format", "emit"]


def emit(rows: list[dict] | pd.DataFrame, fmt: Format | str = Format.table, *, title: str | None = None,
         out: Path | None = None) -> None:
    """Render ``rows`` in ``fmt``; to ``out`` when given (Parquet needs it), else to stdout."""
    df = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
    values = df.astype(object).where(df.notna(), None).to_numpy().tolist()
    render(QueryResult(columns=[str(c) for c in df.columns], rows=values), Format(fmt), out=out, title=title,
           console=console)
