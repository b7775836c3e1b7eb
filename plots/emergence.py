"""alpha_0, spectrum width and the degree of emergence E against training step (symlog axis,
since step 0 exists), with error bars over samples and a validation loss or imported metric on
a second y axis. When the table holds a null model (emergence_frame's alpha0_null, width_null,
E_null, ...), each panel also draws it: the null mean dashed with a shaded ±1 std band (the std
of one null draw), and in the E panel E_null dashed and E_struct = E − E_null."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from neuromfa.base.errors import ConfigError
from neuromfa.plots.figure import PlotSummary, new_figure, require_columns, save, style

Panel = tuple[str, str, str, str]  # (column prefix, y label, legend label, colour)
Handle = Artist | tuple[Artist, ...]  # a legend handle: one artist, or several drawn as one

COLUMNS = ("step", "alpha0_mean", "alpha0_std", "width_mean", "width_std", "E_mean", "E_std")
METRIC_COLUMNS = ("step", "metric", "value")
PANELS: tuple[Panel, ...] = (
    ("alpha0", "α₀ (position of the peak of f)", "α₀, mean ± std over samples", "tab:blue"),
    ("width", "width w = max α − min α", "w, mean ± std over samples", "tab:green"),
    ("E", "degree of emergence E", "E, mean ± std over samples", "tab:purple"),
)
METRIC_LABELS = {
    "val_loss": "validation loss (nats/token)",
    "token_accuracy": "validation token accuracy (fraction)",
}
X_LABEL = "training step (symlog axis: linear from 0 to 1, logarithmic above)"
NULL_COLOUR = "0.45"  # grey: the null is a baseline, not a result
# panel -> (null mean column, null std column or None, legend label)
NULL_CURVES = {
    "alpha0": ("alpha0_null", "alpha0_null_std", "α₀ of the null model: mean, ±1 std of one draw"),
    "width": ("width_null", "width_null_std", "w of the null model: mean, ±1 std of one draw"),
    "E": ("E_null", None, "E_null: E of the null means"),
}
STRUCT_LABEL = "E_struct = E − E_null (of the means)"
STRUCT_COLOUR = "tab:orange"


class EmergenceSummary(PlotSummary):
    steps: list[int]
    panels: list[str]
    null: bool = False  # the null model was drawn
    metric: str | None = None
    metric_points: int = 0


def metric_label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric)


def _pick_metric(metrics_df: pd.DataFrame | None, metric: str | None) -> pd.DataFrame | None:
    """The (step, value) series of the chosen metric; val_loss by default, else the first."""
    if metrics_df is None:
        if metric is not None:
            raise ConfigError(f"emergence plot: metric {metric!r} asked for but no metrics given")
        return None
    require_columns(metrics_df, METRIC_COLUMNS, "emergence plot metrics")
    available = sorted(str(m) for m in metrics_df["metric"].unique())
    if metric is None:
        metric = "val_loss" if "val_loss" in available else available[0]
    if metric not in available:
        raise ConfigError(
            f"emergence plot: no metric {metric!r}", f"available: {', '.join(available)}"
        )
    series = metrics_df[metrics_df["metric"] == metric]
    series = series.assign(value=pd.to_numeric(series["value"], errors="coerce"))
    means = series.dropna(subset=["value"]).groupby("step")["value"].mean().reset_index()
    return means.sort_values("step").assign(metric=metric)


def _panel(ax: Axes, steps: np.ndarray, mean: np.ndarray, std: np.ndarray, spec: Panel) -> None:
    _, ylabel, label, colour = spec
    ax.errorbar(steps, mean, yerr=std, color=colour, marker="o", markersize=4, capsize=3, linewidth=1.5, label=label)
    ax.set_ylabel(ylabel)
    ax.set_xscale("symlog", linthresh=1.0)


def has_null(df: pd.DataFrame) -> bool:
    """Whether the table holds a null model: E_null known at every step."""
    return "E_null" in df and bool(pd.to_numeric(df["E_null"], errors="coerce").notna().all()) and len(df) > 0


def _null_curves(ax: Axes, data: pd.DataFrame, steps: np.ndarray, prefix: str) -> list[tuple[Handle, str]]:
    """The null mean dashed, with a shaded band when its std is known; E_struct in the E panel.
    Returns their (legend handle, label) pairs, the band and its line as one handle."""
    mean_col, std_col, label = NULL_CURVES[prefix]
    mean = pd.to_numeric(data[mean_col], errors="coerce").to_numpy(dtype=float)
    (line,) = ax.plot(steps, mean, color=NULL_COLOUR, linestyle="--", marker="^", markersize=3.5, linewidth=1.3)
    handle: Handle = line
    if std_col is not None and std_col in data:
        std = pd.to_numeric(data[std_col], errors="coerce").to_numpy(dtype=float)
        if np.isfinite(std).any():
            band = ax.fill_between(steps, mean - std, mean + std, color=NULL_COLOUR, alpha=0.18, linewidth=0)
            handle = (band, line)
    out: list[tuple[Handle, str]] = [(handle, label)]
    if prefix == "E":
        struct = pd.to_numeric(data["E_struct"], errors="coerce").to_numpy(dtype=float)
        (line,) = ax.plot(steps, struct, color=STRUCT_COLOUR, linestyle="-", marker="D", markersize=3.5,
                          linewidth=1.5)
        ax.axhline(0.0, color="0.7", linewidth=0.8, zorder=0)
        out.append((line, STRUCT_LABEL))
    return out


def emergence_figure(
    df: pd.DataFrame, metric: str | None = None, metrics_df: pd.DataFrame | None = None
) -> tuple[Figure, EmergenceSummary]:
    """Build the three-panel figure (not saved)."""
    require_columns(df, COLUMNS, "emergence plot")
    data = df.sort_values("step")
    steps = data["step"].to_numpy(dtype=float)
    series = _pick_metric(metrics_df, metric)
    null = has_null(data)
    with style():
        fig = new_figure(10.0, 8.5)
        axes = fig.subplots(len(PANELS), 1, sharex=True)
        for ax, spec in zip(axes, PANELS):
            prefix = spec[0]
            mean = data[f"{prefix}_mean"].to_numpy(dtype=float)
            std = np.nan_to_num(data[f"{prefix}_std"].to_numpy(dtype=float), nan=0.0)
            _panel(ax, steps, mean, std, spec)
            handles, labels = ax.get_legend_handles_labels()  # the real curve first
            if null:
                for handle, label in _null_curves(ax, data, steps, prefix):
                    handles, labels = handles + [handle], labels + [label]
            top = ax  # the legend goes on the top-most axes so no curve hides it
            if series is not None:
                twin = ax.twinx()
                name = str(series["metric"].iloc[0])
                twin.plot(
                    series["step"].to_numpy(dtype=float), series["value"].to_numpy(dtype=float),
                    color="tab:red", linestyle="--", marker="s", markersize=3, linewidth=1.2,
                    label=metric_label(name),
                )
                twin.set_ylabel(metric_label(name), color="tab:red")
                twin.tick_params(axis="y", colors="tab:red")
                twin.grid(False)
                h2, l2 = twin.get_legend_handles_labels()
                handles, labels, top = handles + h2, labels + l2, twin
            # outside the plot area, right of the second axis: no curve can be hidden behind it
            top.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.12 if series is not None else 1.02, 1.0))
        axes[-1].set_xlabel(X_LABEL)
        axes[0].set_title("Multifractal emergence over training")
    summary = EmergenceSummary(
        steps=[int(s) for s in steps],
        panels=[spec[0] for spec in PANELS],
        null=null,
        metric=None if series is None else str(series["metric"].iloc[0]),
        metric_points=0 if series is None else len(series),
    )
    return fig, summary


def plot_emergence(
    df: pd.DataFrame,
    out_path: str | Path,
    metric: str | None = None,
    metrics_df: pd.DataFrame | None = None,
) -> EmergenceSummary:
    """Write the emergence figure as ``out_path`` .png and .svg; return what was drawn."""
    fig, summary = emergence_figure(df, metric=metric, metrics_df=metrics_df)
    return summary.model_copy(update={"paths": save(fig, out_path)})


class ModelsEmergenceSummary(PlotSummary):
    models: list[str]
    steps: dict[str, list[int]]  # model -> its steps drawn
    panels: list[str]


MULTI_LABELS = {"alpha0": "α₀", "width": "w", "E": "E"}


def models_emergence_figure(tables: dict[str, pd.DataFrame]) -> tuple[Figure, ModelsEmergenceSummary]:
    """alpha_0, width and E of several models against step: one curve per model (mean ± std over
    its samples, at its own steps) in each panel. The null model and checkpoint metrics are not
    drawn here (one model's figure has them): overlaid per model they would hide the curves.
    ``tables``: model -> an emergence table."""
    if not tables:
        raise ConfigError("emergence plot: no model to draw")
    steps: dict[str, list[int]] = {}
    with style():
        fig = new_figure(10.0, 8.5)
        axes = fig.subplots(len(PANELS), 1, sharex=True)
        for i, (model, df) in enumerate(tables.items()):
            require_columns(df, COLUMNS, f"emergence plot of model {model!r}")
            data = df.sort_values("step")
            x = data["step"].to_numpy(dtype=float)
            steps[model] = [int(s) for s in x]
            for ax, spec in zip(axes, PANELS):
                prefix = spec[0]
                mean = data[f"{prefix}_mean"].to_numpy(dtype=float)
                std = np.nan_to_num(data[f"{prefix}_std"].to_numpy(dtype=float), nan=0.0)
                _panel(ax, x, mean, std, (prefix, spec[1], f"{model} ({len(x)} step{'s' if len(x) != 1 else ''})", f"C{i % 10}"))
        for ax, spec in zip(axes, PANELS):
            # one legend per panel, outside the plot area as in the one-model figure
            ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0),
                      title=f"{MULTI_LABELS[spec[0]]}, mean ± std over samples")
        axes[-1].set_xlabel(X_LABEL)
        axes[0].set_title(f"Multifractal emergence of {len(tables)} models over training "
                          "(no null model or metrics: plot one model for them)")
    summary = ModelsEmergenceSummary(models=list(tables), steps=steps, panels=[spec[0] for spec in PANELS])
    return fig, summary


def plot_model_emergence(tables: dict[str, pd.DataFrame], out_path: str | Path) -> ModelsEmergenceSummary:
    """Write the emergence figure of several models as ``out_path`` .png and .svg."""
    fig, summary = models_emergence_figure(tables)
    return summary.model_copy(update={"paths": save(fig, out_path)})
