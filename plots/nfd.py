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


class ModelsNfdSummary(PlotSummary):
    models: list[str]
    steps: dict[str, int]  # model -> the step drawn
    kinds: list[str]
    counts: dict[str, dict[str, int]]  # model -> kind -> neurons with an NFD
    excluded: dict[str, int]
    violins: dict[str, int]


def models_nfd_figure(frames: dict[str, pd.DataFrame], steps: dict[str, int]) -> tuple[Figure, ModelsNfdSummary]:
    """The NFD of several models in one axes: per layer kind, one violin per model side by side
    (the points themselves where a model has fewer than two distinct values), a colour per model.
    ``frames``: model -> an NFD table (kind, nfd); ``steps``: model -> the step it is of."""
    if not frames:
        raise ConfigError("NFD plot: no model to draw")
    values: dict[str, dict[str, np.ndarray]] = {}
    excluded: dict[str, int] = {}
    for model, df in frames.items():
        require_columns(df, COLUMNS, f"NFD plot of model {model!r}")
        kinds = df["kind"].astype(str).to_numpy()
        nfd = pd.to_numeric(df["nfd"], errors="coerce").to_numpy(dtype=float)
        eligible = np.isfinite(nfd)
        if not eligible.any():
            raise ConfigError(f"NFD plot: no neuron of model {model!r} has an NFD (all ineligible)",
                              "lower min_mass or check the analysis")
        values[model] = {str(k): nfd[(kinds == k) & eligible] for k in np.unique(kinds)}
        excluded[model] = int((~eligible).sum())
    order = kind_order(sorted({k for per_kind in values.values() for k in per_kind}))
    counts = {m: {k: int(len(values[m].get(k, ()))) for k in order} for m in frames}
    n = len(frames)
    slot = 0.8 / n  # each kind's 0.8 wide slot, shared by the models
    violins: dict[str, int] = {}
    with style():
        fig = new_figure(max(7.0, (0.6 + 0.5 * n) * len(order) + 2.5), 4.8)
        ax = fig.add_subplot()
        handles: list[Patch] = []
        for i, model in enumerate(frames):
            colour = f"C{i % 10}"
            offset = -0.4 + slot * (i + 0.5)
            per_kind = [values[model].get(k, np.array([])) for k in order]
            at = np.arange(1, len(order) + 1) + offset
            wide = [j for j, v in enumerate(per_kind) if len(np.unique(v)) >= 2]
            if wide:
                parts = ax.violinplot([per_kind[j] for j in wide], positions=at[wide], showmedians=True,
                                      showextrema=True, widths=0.9 * slot)
                bodies: list[PolyCollection] = parts["bodies"]  # type: ignore[assignment]  # a list, whatever the stubs say
                for body in bodies:
                    body.set_facecolor(colour)
                    body.set_edgecolor("black")
                    body.set_alpha(0.5)
                for name in ("cmedians", "cmins", "cmaxes", "cbars"):
                    parts[name].set_color(colour)
            for j, v in enumerate(per_kind):
                if j not in wide and len(v):
                    ax.scatter(np.full(len(v), at[j]), v, color=colour, marker="o", s=16, zorder=3)
            violins[model] = len(wide)
            eligible_n = sum(counts[model].values())
            handles.append(Patch(facecolor=colour, alpha=0.5, edgecolor="black",
                                 label=f"{model} (step {steps[model]}): {eligible_n} with an NFD, "
                                       f"{excluded[model]} ineligible (excluded)"))
        positions = np.arange(1, len(order) + 1)
        ax.set_xticks(positions, [f"{k}\n(n={'/'.join(str(counts[m][k]) for m in frames)})" for k in order])
        ax.set_xlim(0.4, len(order) + 0.6)
        ax.set_xlabel("layer kind, in network order (n = neurons with an NFD, per model in legend order)")
        ax.set_ylabel("NFD, slope of ln N(r) against ln r (dimensionless)")
        ax.set_title(f"Node fractal dimension per layer kind of {n} models")
        ax.legend(handles=handles, loc="best")
    summary = ModelsNfdSummary(models=list(frames), steps=dict(steps), kinds=order, counts=counts,
                               excluded=excluded, violins=violins)
    return fig, summary


def plot_model_nfd(frames: dict[str, pd.DataFrame], steps: dict[str, int], out_path: str | Path) -> ModelsNfdSummary:
    """Write the NFD figure of several models as ``out_path`` .png and .svg."""
    fig, summary = models_nfd_figure(frames, steps)
    return summary.model_copy(update={"paths": save(fig, out_path)})
