"""Distribution of the node fractal dimension (NFD) per layer kind, in network order.
Ineligible neurons have no NFD (NaN): they are excluded and counted in the legend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from neuromfa.base.errors import ConfigError
from neuromfa.plots.figure import PlotSummary, new_figure, require_columns, save, style
from neuromfa.schema.layers import KINDS

COLUMNS = ("kind", "nfd")
COLOUR = "tab:blue"


class NfdSummary(PlotSummary):
    kinds: list[str]
    counts: dict[str, int]
    excluded: int
    violins: int


def kind_order(kinds: list[str]) -> list[str]:
    """KINDS order first, then any other kind alphabetically."""
    known = [k for k in KINDS if k in kinds]
    return known + sorted(k for k in set(kinds) if k not in KINDS)


def nfd_figure(df: pd.DataFrame) -> tuple[Figure, NfdSummary]:
    """Build the figure (not saved): a violin per kind with at least two distinct values, the
    points themselves otherwise."""
    require_columns(df, COLUMNS, "NFD plot")
    kinds = df["kind"].astype(str)
    nfd = pd.to_numeric(df["nfd"], errors="coerce").to_numpy(dtype=float)
    eligible = np.isfinite(nfd)
    if not eligible.any():
        raise ConfigError("NFD plot: no neuron has an NFD (all ineligible)", "lower min_mass or check the analysis")
    order = kind_order(kinds.unique().tolist())
    counts: dict[str, int] = {}
    values: list[np.ndarray] = []
    for kind in order:
        v = nfd[(kinds == kind).to_numpy() & eligible]
        counts[kind] = int(len(v))
        values.append(v)
    excluded = int((~eligible).sum())
    positions = np.arange(1, len(order) + 1)
    violin_idx = [i for i, v in enumerate(values) if len(np.unique(v)) >= 2]
    with style():
        fig = new_figure(max(6.0, 1.1 * len(order) + 2.0), 4.5)
        ax = fig.add_subplot()
        if violin_idx:
            parts = ax.violinplot(
                [values[i] for i in violin_idx], positions=positions[violin_idx],
                showmedians=True, showextrema=True, widths=0.8,
            )
            bodies: list[PolyCollection] = parts["bodies"]  # type: ignore[assignment]  # a list, whatever the stubs say
            for body in bodies:
                body.set_facecolor(COLOUR)
                body.set_edgecolor("black")
                body.set_alpha(0.5)
        for i, v in enumerate(values):
            if i not in violin_idx and len(v):
                ax.scatter(np.full(len(v), positions[i]), v, color=COLOUR, marker="o", s=16, zorder=3)
        ax.set_xticks(positions, [f"{k}\n(n={counts[k]})" for k in order])
        ax.set_xlim(0.4, len(order) + 0.6)
        ax.set_xlabel("layer kind, in network order (n = neurons with an NFD)")
        ax.set_ylabel("NFD, slope of ln N(r) against ln r (dimensionless)")
        ax.set_title("Node fractal dimension per layer kind")
        handles = [
            Patch(facecolor=COLOUR, alpha=0.5, edgecolor="black", label=f"eligible neurons: {int(eligible.sum())}"),
            Line2D([], [], color="none", marker="x", markeredgecolor="grey",
                   label=f"ineligible (no NFD, excluded): {excluded}"),
        ]
        ax.legend(handles=handles, loc="best")
    summary = NfdSummary(kinds=order, counts=counts, excluded=excluded, violins=len(violin_idx))
    return fig, summary


def plot_nfd(df: pd.DataFrame, out_path: str | Path) -> NfdSummary:
    """Write the NFD figure as ``out_path`` .png and .svg; return what was drawn."""
    fig, summary = nfd_figure(df)
    return summary.model_copy(update={"paths": save(fig, out_path)})
