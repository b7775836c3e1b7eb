"""f(alpha) spectra over training: one curve per step (mean over samples), coloured by step,
with a band of +-1 std of f over samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.cm import ScalarMappable
from matplotlib.colors import SymLogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from neuromfa.base.errors import ConfigError
from neuromfa.plots.figure import PlotSummary, new_figure, require_columns, save, style

COLUMNS = ("step", "sample", "alpha", "f")
CMAP = "viridis"


class SpectrumSummary(PlotSummary):
    curves: int
    steps: list[int]
    samples: dict[int, int]
    skipped_rows: int = 0


def _step_arrays(group: pd.DataFrame, step: int) -> tuple[np.ndarray, np.ndarray]:
    lengths = {len(a) for a in group["alpha"]} | {len(f) for f in group["f"]}
    if len(lengths) != 1:
        raise ConfigError(
            f"spectrum plot: step {step} has spectra of different lengths {sorted(lengths)}",
            "analyse every sample with the same q grid",
        )
    alpha = np.asarray(group["alpha"].tolist(), dtype=float)
    f = np.asarray(group["f"].tolist(), dtype=float)
    return alpha, f


def spectrum_figure(df: pd.DataFrame) -> tuple[Figure, SpectrumSummary]:
    """Build the figure (not saved). Rows whose alpha or f hold a non-finite value are skipped
    and counted."""
    require_columns(df, COLUMNS, "spectrum plot")
    finite = df.apply(
        lambda r: bool(np.all(np.isfinite(np.asarray(r["alpha"], dtype=float)))
                       and np.all(np.isfinite(np.asarray(r["f"], dtype=float)))
                       and len(r["alpha"]) > 0),
        axis=1,
    )
    skipped = int((~finite).sum())
    data = df[finite]
    if data.empty:
        raise ConfigError("spectrum plot: no spectrum with finite values to plot")
    steps = sorted(int(s) for s in data["step"].unique())
    if len(steps) == 1:  # one checkpoint: no training axis, no colour bar around one step
        return _single_step_figure(data, steps[0], skipped)
    norm = SymLogNorm(linthresh=1.0, vmin=0.0, vmax=max(max(steps), 1), base=10)
    mappable = ScalarMappable(norm=norm, cmap=CMAP)
    samples: dict[int, int] = {}
    curves: list[Line2D] = []
    with style():
        fig = new_figure(7.0, 4.8)
        ax = fig.add_subplot()
        for step in steps:
            alpha, f = _step_arrays(data[data["step"] == step], step)
            samples[step] = len(alpha)
            mean_alpha, mean_f, std_f = alpha.mean(axis=0), f.mean(axis=0), f.std(axis=0)
            colour = mappable.to_rgba(np.asarray(step))  # (matplotlib's stubs take arrays only)
            ax.fill_between(mean_alpha, mean_f - std_f, mean_f + std_f, color=colour, alpha=0.15, linewidth=0)
            (line,) = ax.plot(mean_alpha, mean_f, color=colour, linewidth=1.5, label=f"step {step}")
            curves.append(line)
        cbar = fig.colorbar(mappable, ax=ax)
        cbar.set_label("training step (symlog colour scale)")
        ax.set_xlabel("α, Lipschitz–Hölder exponent (dimensionless)")
        ax.set_ylabel("f(α), multifractal spectrum (dimensionless)")
        n = sorted(set(samples.values()))
        per_step = f"{n[0]}" if len(n) == 1 else f"{n[0]}–{n[-1]}"
        ax.set_title(f"f(α) spectra over training ({len(steps)} steps, {per_step} samples per step)")
        handles: list[Artist] = [curves[0], *curves[1:][-1:]]  # the first and the last step
        handles.append(Patch(color="grey", alpha=0.3, label="±1 std of f over samples"))
        handles.append(Line2D([], [], color="grey", label="curve: mean over samples"))
        ax.legend(handles=handles, loc="best")
    summary = SpectrumSummary(curves=len(curves), steps=steps, samples=samples, skipped_rows=skipped)
    return fig, summary


def _mean_curve(ax, group: pd.DataFrame, step: int, colour, label: str) -> tuple[Line2D, int]:
    """Mean f(alpha) over the samples with a +-1 std band; returns the line and the sample count."""
    alpha, f = _step_arrays(group, step)
    mean_alpha, mean_f, std_f = alpha.mean(axis=0), f.mean(axis=0), f.std(axis=0)
    ax.fill_between(mean_alpha, mean_f - std_f, mean_f + std_f, color=colour, alpha=0.15, linewidth=0)
    (line,) = ax.plot(mean_alpha, mean_f, color=colour, linewidth=1.5, label=label)
    return line, len(alpha)


def _labels(ax, title: str, handles: list[Artist]) -> None:
    ax.set_xlabel("α, Lipschitz–Hölder exponent (dimensionless)")
    ax.set_ylabel("f(α), multifractal spectrum (dimensionless)")
    ax.set_title(title)
    handles.append(Patch(color="grey", alpha=0.3, label="±1 std of f over samples"))
    ax.legend(handles=handles, loc="best")


def _single_step_figure(data: pd.DataFrame, step: int, skipped: int) -> tuple[Figure, SpectrumSummary]:
    with style():
        fig = new_figure(7.0, 4.8)
        ax = fig.add_subplot()
        line, n = _mean_curve(ax, data, step, "C0", f"step {step}: mean over samples")
        _labels(ax, f"f(α) spectrum at step {step} ({n} samples)", [line])
    return fig, SpectrumSummary(curves=1, steps=[step], samples={step: n}, skipped_rows=skipped)


class ModelsSpectrumSummary(PlotSummary):
    models: list[str]
    steps: dict[str, int]  # model -> the step drawn
    samples: dict[str, int]
    skipped_rows: int = 0


def models_spectrum_figure(frames: dict[str, pd.DataFrame]) -> tuple[Figure, ModelsSpectrumSummary]:
    """Overlaid spectra of several models, one curve each: its last step's mean over samples with
    a +-1 std band. ``frames``: model -> a spectra frame (step, sample, alpha, f)."""
    if not frames:
        raise ConfigError("spectrum plot: no model to draw")
    steps: dict[str, int] = {}
    samples: dict[str, int] = {}
    skipped = 0
    handles: list[Artist] = []
    with style():
        fig = new_figure(7.0, 4.8)
        ax = fig.add_subplot()
        for i, (model, df) in enumerate(frames.items()):
            require_columns(df, COLUMNS, "spectrum plot")
            finite = df.apply(lambda r: len(r["alpha"]) > 0
                              and bool(np.all(np.isfinite(np.asarray(r["alpha"], dtype=float))))
                              and bool(np.all(np.isfinite(np.asarray(r["f"], dtype=float)))), axis=1)
            data = df[finite]
            if data.empty:
                raise ConfigError(f"spectrum plot: model {model!r} has no spectrum with finite values")
            last = int(data["step"].max())
            mine = data[data["step"] == last]
            skipped += int((~finite[df["step"] == last]).sum())
            line, n = _mean_curve(ax, mine, last, f"C{i % 10}", f"{model} (step {last}, {len(mine)} samples)")
            steps[model], samples[model] = last, n
            handles.append(line)
        _labels(ax, f"f(α) spectra of {len(frames)} models (each at its last step)", handles)
    return fig, ModelsSpectrumSummary(models=list(frames), steps=steps, samples=samples, skipped_rows=skipped)


def plot_model_spectra(frames: dict[str, pd.DataFrame], out_path: str | Path) -> ModelsSpectrumSummary:
    """Write the overlaid spectra of several models as ``out_path`` .png and .svg."""
    fig, summary = models_spectrum_figure(frames)
    return summary.model_copy(update={"paths": save(fig, out_path)})


def plot_spectra(df: pd.DataFrame, out_path: str | Path) -> SpectrumSummary:
    """Write the spectra figure as ``out_path`` .png and .svg; return what was drawn."""
    fig, summary = spectrum_figure(df)
    return summary.model_copy(update={"paths": save(fig, out_path)})
