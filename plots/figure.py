"""Shared plumbing of the plots: figures without pyplot (no global backend or state), one
style, and saving as PNG and SVG side by side."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.typing import RcKeyType
from pydantic import BaseModel

from neuromfa.base.errors import ConfigError, param

STYLE: dict[RcKeyType, Any] = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "svg.fonttype": "none",  # keep text as text in the SVG: smaller, searchable
    "savefig.dpi": 150,
}
FORMATS = ("png", "svg")
# what counts as a file extension to replace: `fig.pdf`, `fig.jpeg`; not `pythia-1.4b` or `run.step1000`
_EXTENSION = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,4}")


class PlotSummary(BaseModel):
    """Common part of what a plot function drew."""

    paths: list[Path] = []


@contextlib.contextmanager
def style() -> Iterator[None]:
    with matplotlib.rc_context(STYLE):
        yield


def new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)  # an Agg canvas, whatever backend pyplot would pick
    return fig


def output_paths(out_path: str | Path) -> list[Path]:
    """``fig``, ``fig.png``, ``fig.svg`` or ``fig.pdf`` -> [fig.png, fig.svg]: a file extension
    is replaced (the figures are always PNG + SVG), a bare stem gets both added."""
    path = Path(out_path).expanduser()
    if _EXTENSION.fullmatch(path.suffix):
        path = path.with_suffix("")
    return [path.with_name(f"{path.name}.{fmt}") for fmt in FORMATS]


def check_output_dir(out_path: str | Path) -> list[Path]:
    """The output paths, after checking that their folder exists: a mistyped folder is an
    error, not a new directory tree."""
    paths = output_paths(out_path)
    folder = paths[0].parent
    if not folder.is_dir():
        raise ConfigError(
            f"cannot write {paths[0].name}: the folder {folder} does not exist"
            if not folder.exists() else f"cannot write {paths[0].name}: {folder} is not a folder",
            f"create the folder first or pass {param('out')} in an existing one", param="out",
        )
    return paths


def save(fig: Figure, out_path: str | Path) -> list[Path]:
    paths = check_output_dir(out_path)
    with style():
        for path in paths:
            fig.savefig(path, format=path.suffix[1:])
    return paths


def require_columns(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ConfigError(
            f"{what}: the table lacks column(s) {', '.join(missing)}",
            f"it needs {', '.join(columns)}",
        )
    if df.empty:
        raise ConfigError(f"{what}: nothing to plot (the table is empty)")
