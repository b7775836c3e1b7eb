"""Each quantity of a validity report against the metric: one scatter panel per row (x the
metric, y the quantity; one colour per run, points joined in step order), titled with its
Spearman and partial Spearman rho."""

from __future__ import annotations

import math
from pathlib import Path

from neuromfa.base.errors import ConfigError
from neuromfa.plots.figure import PlotSummary, new_figure, save, style
from neuromfa.results.validity import ValidityReport

COLUMNS_PER_ROW = 4
PANEL_W, PANEL_H = 3.2, 2.6
MAX_PANELS = 120  # a figure of more panels is unreadable and slow to draw


class ValiditySummary(PlotSummary):
    panels: int
    models: list[str]


def _rho(v: float | None) -> str:
    return "–" if v is None else f"{v:+.2f}"


def plot_validity(report: ValidityReport, out_path: str | Path) -> ValiditySummary:
    """One panel per row of ``report``; PNG and SVG at ``out_path``."""
    rows = [r for r in report.rows if r.n_points]
    if not rows:
        raise ConfigError("nothing to plot: no quantity has a value at a checkpoint with the metric")
    if len(rows) > MAX_PANELS:
        raise ConfigError(f"the report has {len(rows)} quantities; a figure draws at most {MAX_PANELS}",
                          "restrict the analyses (fewer parameter sets per model)")
    cols = min(COLUMNS_PER_ROW, len(rows))
    lines = math.ceil(len(rows) / cols)
    with style():
        fig = new_figure(PANEL_W * cols, PANEL_H * lines + 0.4)
        axes = fig.subplots(lines, cols, squeeze=False)
        for ax in axes.ravel()[len(rows):]:
            ax.set_visible(False)
        for ax, row in zip(axes.ravel(), rows):
            for i, model in enumerate(report.models):
                pts = sorted((p.step, p.metric, p.values.get(row.label)) for p in report.points if p.model == model)
                xy = [(x, y) for _, x, y in pts if x is not None and y is not None]
                if xy:
                    ax.plot([x for x, _ in xy], [y for _, y in xy], "o-", ms=3, lw=0.8, color=f"C{i % 10}",
                            label=model if len(report.models) > 1 else None)
            ax.set_title(f"{row.label}\nρ={_rho(row.spearman)}, partial ρ={_rho(row.partial_spearman)}", fontsize=8)
            ax.set_xlabel(report.metric, fontsize=8)
            ax.tick_params(labelsize=7)
        if len(report.models) > 1:
            axes.ravel()[0].legend(fontsize=7)
        fig.suptitle(f"each quantity against {report.metric} (ρ: Spearman with {report.against}; "
                     f"partial: given {report.control})", fontsize=10)
        paths = save(fig, out_path)
    return ValiditySummary(paths=paths, panels=len(rows), models=report.models)
