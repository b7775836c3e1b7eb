"""The report page as HTML: value formatting, tables, inlined figures and the page template.
Pure functions, no database: every value is HTML-escaped here and nowhere else."""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from html import escape
from numbers import Integral, Real

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from pydantic import BaseModel

from neuromfa.plots.figure import style

DASH = "–"  # a missing value (None, NaN, NA)
PM = " ± "
PX_PER_INCH = 96  # CSS pixels per figure inch: figures show at their drawn size
OPEN_ROWS = 60  # longer tables start folded (<details> without `open`)


def fmt(value) -> str:
    """One value as table text: integers with thousands separators, floats with 4 significant
    digits, booleans yes/no, missing values a dash."""
    if value is None or value is pd.NA:
        return DASH
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, Integral):
        return f"{int(value):,}"
    if isinstance(value, Real):
        v = float(value)
        if math.isnan(v):
            return DASH
        return f"{v:.4g}"
    return str(value)


def fmt_pm(mean, std) -> str:
    """``mean ± std``; just the mean when std is missing (a single sample)."""
    if fmt(mean) == DASH:
        return DASH
    return fmt(mean) if fmt(std) == DASH else f"{fmt(mean)}{PM}{fmt(std)}"


class Table(BaseModel):
    """A table ready to print: column labels and rows of already formatted text."""

    id: str
    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool]  # right-align the column
    caption: str = ""


def numeric_columns(df: pd.DataFrame) -> list[bool]:
    return [pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) for c in df.columns]


def frame_table(df: pd.DataFrame, id: str, labels: dict[str, str] | None = None,
                caption: str = "", numeric: Sequence[bool] | None = None) -> Table:
    """A DataFrame whose cells are raw values (formatted with ``fmt``) or already text."""
    labels = labels or {}
    rows = [[v if isinstance(v, str) else fmt(v) for v in rec] for rec in df.itertuples(index=False)]
    return Table(id=id, columns=[labels.get(str(c), str(c)) for c in df.columns], rows=rows,
                 numeric=list(numeric) if numeric is not None else numeric_columns(df), caption=caption)


def table_html(table: Table) -> str:
    def cls(i: int) -> str:
        return ' class="num"' if table.numeric[i] else ""

    head = "".join(f"<th{cls(i)}>{escape(c)}</th>" for i, c in enumerate(table.columns))
    body = "\n".join("<tr>" + "".join(f"<td{cls(i)}>{escape(v)}</td>" for i, v in enumerate(row)) + "</tr>"
                     for row in table.rows)
    caption = caption_html(table.caption) if table.caption else ""
    html = (f'<div class="scroll"><table id="{escape(table.id)}">\n<thead><tr>{head}</tr></thead>\n'
            f"<tbody>\n{body}\n</tbody></table></div>{caption}")
    if len(table.rows) > OPEN_ROWS:
        return (f"<details><summary>{len(table.rows):,} rows (click to show)</summary>\n"
                f"{html}</details>")
    return html


def key_value_html(pairs: Sequence[tuple[str, str]], id: str) -> str:
    rows = "\n".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in pairs)
    return f'<table id="{escape(id)}" class="kv">\n<tbody>\n{rows}\n</tbody></table>'


class FigureImage(BaseModel):
    """A drawn figure as an inlined PNG."""

    id: str
    title: str
    caption: str
    png_base64: str
    width_px: int


def figure_image(fig: Figure, id: str, title: str, caption: str) -> FigureImage:
    """Render ``fig`` to PNG (the plots' style and resolution) as base64 text."""
    buf = io.BytesIO()
    with style():
        fig.savefig(buf, format="png")
    width = int(round(fig.get_figwidth() * PX_PER_INCH))
    return FigureImage(id=id, title=title, caption=caption, width_px=width,
                       png_base64=base64.b64encode(buf.getvalue()).decode("ascii"))


def figure_html(image: FigureImage) -> str:
    return (f'<figure id="{escape(image.id)}">'
            f'<img src="data:image/png;base64,{image.png_base64}" width="{image.width_px}" '
            f'alt="{escape(image.title)}">'
            f"<figcaption><b>{escape(image.title)}.</b> {escape(image.caption)}</figcaption></figure>")


CSS = """
body { font-family: "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; color: #222;
       max-width: 1180px; margin: 1.5em auto; padding: 0 1em; line-height: 1.45; }
h1 { font-size: 1.55em; margin-bottom: 0.1em; }
h2 { font-size: 1.2em; border-bottom: 1px solid #ccc; padding-bottom: 0.15em; margin-top: 1.8em; }
.meta { color: #666; font-size: 0.88em; margin-top: 0; }
table { border-collapse: collapse; font-size: 0.88em; margin: 0.4em 0; }
th, td { padding: 0.22em 0.6em; border-bottom: 1px solid #e3e3e3; text-align: left; white-space: nowrap; }
thead th { background: #f2f2f2; border-bottom: 2px solid #bbb; white-space: normal; vertical-align: bottom; }
table.kv th { background: none; font-weight: 600; color: #444; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) td { background: #fafafa; }
.scroll { overflow-x: auto; }
.caption { color: #555; font-size: 0.85em; margin: 0.2em 0 0; }
.note { background: #fff6dd; border-left: 4px solid #e0a800; padding: 0.4em 0.8em; }
figure { margin: 1.2em 0; }
figure img { max-width: 100%; height: auto; display: block; border: 1px solid #eee; }
figcaption { color: #444; font-size: 0.88em; max-width: 60em; margin-top: 0.3em; }
summary { cursor: pointer; color: #245; }
"""


class Section(BaseModel):
    """One <h2> section: its parts are HTML already escaped by the helpers above."""

    id: str
    title: str
    html: str


def caption_html(text: str) -> str:
    return f'<p class="caption">{escape(text)}</p>'


def note_html(text: str) -> str:
    return f'<p class="note">{escape(text)}</p>'


def page_html(title: str, subtitle: str, sections: Sequence[Section]) -> str:
    body = "\n".join(f'<section id="{escape(s.id)}">\n<h2>{escape(s.title)}</h2>\n{s.html}\n</section>'
                     for s in sections)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{CSS}</style>
</head>
<body>
<header><h1>{escape(title)}</h1><p class="meta">{escape(subtitle)}</p></header>
{body}
</body>
</html>
"""
