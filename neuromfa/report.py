"""A model's report: one self-contained HTML page (CSS inline, figures as inlined PNG, no script,
nothing fetched) with the model's summary, the emergence table, the figures of `neuromfa plot`
and the per-graph results, all read from the database.

    from neuromfa.report import write_report
    info = write_report(store, "demo-tiny", "out/")      # out/demo-tiny-report.html

A part that cannot be drawn (no analysis in the mode yet, analyses with mixed parameters, no
eligible neuron, ...) becomes a note on the page and in ``ReportInfo.notes``; only an unknown
model is an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd
from pydantic import BaseModel

from neuromfa.analysis.emergence import spearman_with
from neuromfa.analysis.sweep import spearman_rho
from neuromfa.base.errors import ConfigError, NeuromfaError, NotFoundError, action, param
from neuromfa.plots.data import emergence_and_metrics, nfd_frame, spectra_frame
from neuromfa.plots.emergence import emergence_figure, has_null
from neuromfa.plots.nfd import nfd_figure
from neuromfa.plots.spectrum import models_spectrum_figure, spectrum_figure
from neuromfa.queries import run_query
from neuromfa.report_html import (
    FigureImage,
    Section,
    Table,
    caption_html,
    figure_html,
    figure_image,
    fmt,
    fmt_pm,
    frame_table,
    key_value_html,
    note_html,
    page_html,
    table_html,
)
from neuromfa.results.compare import ParamFilter, compare_frame, describe, params_per_model
from neuromfa.results.tables import checkpoint_metrics, results_frame
from neuromfa.schema.params import AnalysisParams
from neuromfa.schema.records import BASELINES, PEERS
from neuromfa.store.models import ModelRepository

# Emergence-frame columns shown in fixed places; any other column is a checkpoint metric.
EMERGENCE_BASE = ("step", "mode", "n_samples", "n_passed", "alpha0_mean", "alpha0_std", "width_mean",
                  "width_std", "E", "E_mean", "E_std", "n_paired", "E_null", "E_struct", "alpha0_null",
                  "alpha0_null_std", "width_null", "width_null_std", "alpha0_z", "width_z", "r2_min")
RESULT_LABELS = {"alpha0": "α₀", "r2_min": "min R²", "nodes_used": "nodes used", "edges_used": "edges used",
                 "passed_filter": "passed filter", "threshold": "T", "alpha0_z": "α₀ z", "width_z": "width z"}
NULL_RESULT_COLUMNS = ["null", "alpha0_z", "width_z"]  # shown only when some analysis has a null model
STEP_LIST_MAX = 24  # longer step lists show their first and last steps only


class ReportInfo(BaseModel):
    """What `write_report` wrote."""

    path: Path
    model: str  # the model, or the models joined by "_vs_" (the file's name)
    models: list[str] = []  # every model on the page
    mode: str | None
    steps: list[int]  # the steps of the emergence table (analysed steps); [] when none
    tables: list[str]  # ids of the tables on the page
    figures: list[str]  # ids of the figures on the page
    notes: list[str] = []  # parts left out, and why


def report_path(out_dir: str | Path, model: str) -> Path:
    # ':' is legal in a model name but not in a file name everywhere
    return Path(out_dir).expanduser() / f"{model.replace(':', '_')}-report.html"


def model_summary(store, model: str) -> dict:
    """The model-summary query's row for ``model`` plus its source; NotFoundError when absent."""
    rows = run_query("model-summary", store=store, model=model)
    if rows.empty:
        raise NotFoundError(f"no model {model!r} in the database",
                            f"{action('query', name='model-summary')} lists the stored models")
    summary = rows.iloc[0].to_dict()
    stored = ModelRepository(store).get(model)
    summary["source"] = stored.source if stored else None
    return summary


def step_list(steps: list[int]) -> str:
    if len(steps) <= STEP_LIST_MAX:
        return ", ".join(fmt(s) for s in steps) or "–"
    half = STEP_LIST_MAX // 2
    return f"{', '.join(fmt(s) for s in steps[:half])}, …, {', '.join(fmt(s) for s in steps[-half:])}"


def summary_pairs(summary: dict, steps: list[int], metrics: list[str]) -> list[tuple[str, str]]:
    def span() -> str:
        if summary["first_step"] is None:
            return "–"
        return f"{fmt(summary['first_step'])} to {fmt(summary['last_step'])}"

    return [
        ("model", fmt(summary["model"])),
        ("architecture", fmt(summary["arch"])),
        ("hidden size", fmt(summary["hidden"])),
        ("blocks", fmt(summary["blocks"])),
        ("parameters", fmt(summary["params"])),
        ("source", fmt(summary["source"])),
        ("checkpoints", f"{fmt(summary['checkpoints'])} (steps {span()})"),
        ("steps", step_list(steps)),
        ("checkpoint metrics", ", ".join(metrics) or "none stored"),
        ("graphs", f"{fmt(summary['graphs'])} ({fmt(summary['samples'])} samples)"),
        ("stored neurons / synapses", f"{fmt(summary['nodes'])} / {fmt(summary['edges'])}"),
        ("analysed graphs", fmt(summary["analysed_graphs"])),
        ("analyses", fmt(summary["analyses"])),
        ("analysis jobs (failed)", f"{fmt(summary['jobs'])} ({fmt(summary['failed_jobs'])})"),
    ]


def modes_table(store, model: str) -> Table | None:
    """Stored analyses per mode: how many, of how many graphs and steps, how many passed."""
    every = results_frame(store, model, all_analyses=True)
    every = every[every["aid"].notna()]
    if every.empty:
        return None
    by = every.groupby("mode").agg(analyses=("aid", "size"), graphs=("gid", "nunique"),
                                   steps=("step", "nunique"), passed=("passed_filter", "sum"))
    by = by.reset_index()
    by["parameter sets"] = every.groupby("mode")["params"].nunique().to_numpy()
    return frame_table(by, "modes", {"passed": "passed filter"})


def emergence_table(table: pd.DataFrame, mode: str | None, reference_step: int | None, id: str = "emergence") -> Table:
    weight_scale = [c for c in (*BASELINES, *PEERS) if c in table.columns and table[c].notna().any()]
    metrics = [c for c in table.columns if c not in EMERGENCE_BASE and c not in BASELINES and c not in PEERS]
    shown = pd.DataFrame({"step": table["step"]})
    for m in metrics + weight_scale:  # the checkpoint's metrics, then its weight-scale baselines where stored
        shown[m] = table[m]
    shown["n samples"] = table["n_samples"]
    shown["passed filter"] = table["n_passed"]
    shown["α₀ mean ± std"] = [fmt_pm(m, s) for m, s in zip(table["alpha0_mean"], table["alpha0_std"])]
    shown["width mean ± std"] = [fmt_pm(m, s) for m, s in zip(table["width_mean"], table["width_std"])]
    if len(table) == 1:  # one checkpoint: E(t) is 0 by definition, there is no training axis
        caption = (f"The one analysed checkpoint, over its {mode or 'current'} analyses. α₀ and width: mean ± std "
                   f"(ddof 0) over the samples that passed the filter. E(t) needs two or more steps, so it is "
                   f"not shown. Other columns are the checkpoint's stored metrics and weight-scale baselines.")
        return frame_table(shown, id, caption=caption, numeric=[True] * len(shown.columns))
    shown["E of the means"] = table["E"]
    shown["E mean ± std"] = [fmt_pm(m, s) for m, s in zip(table["E_mean"], table["E_std"])]
    shown["paired samples"] = table["n_paired"]
    ref = fmt(table["step"].min() if reference_step is None else reference_step)
    caption = (f"Per checkpoint step, over its {mode or 'current'} analyses. α₀ and width: mean ± std "
               f"(ddof 0) over the samples that passed the filter. E(t) = (w(t) / w(t0)) · ln(α₀(t0) / α₀(t)) "
               f"with t0 = step {ref}: 'E of the means' from the step means, 'E mean ± std' over the samples "
               f"present at t and t0 (paired samples). Other columns are the checkpoint's stored metrics and "
               f"weight-scale baselines.")
    if has_null(table):
        _null_columns(shown, table)
        caption += (" Null model: α₀ and width null are the means over the samples of each graph's null "
                    "draws ± the mean std of one draw; E_null is E of those means and E_struct = E − E_null "
                    "(both from the step means), the part of E the null's weight statistics do not explain; "
                    "z = (real − null mean) / null std, averaged over the samples.")
    return frame_table(shown, id, caption=caption,
                       numeric=[True] * len(shown.columns))


def _null_columns(shown: pd.DataFrame, table: pd.DataFrame) -> None:
    """The null model's columns beside the real ones (real E first, then E_null and E_struct)."""
    shown["E_null"] = table["E_null"]
    shown["E_struct"] = table["E_struct"]
    shown["α₀ null mean ± std"] = [fmt_pm(m, s) for m, s in zip(table["alpha0_null"], table["alpha0_null_std"])]
    shown["width null mean ± std"] = [fmt_pm(m, s) for m, s in zip(table["width_null"], table["width_null_std"])]
    shown["α₀ z"] = table["alpha0_z"]
    shown["width z"] = table["width_z"]


def spearman_text(table: pd.DataFrame) -> str | None:
    """Spearman rank correlation of E (per-sample mean) with val_loss over the steps, and of
    E_struct when a null model is stored."""
    corr = spearman_with(table)
    if corr is None:
        return None
    rho, p = corr
    text = f"Spearman rank correlation of E (mean over samples) with val_loss over {len(table)} steps: " \
           f"ρ = {fmt(rho)} (p = {fmt(p)})."
    if has_null(table):
        text += f" Of E_struct (E − E_null) with val_loss: ρ = {fmt(spearman_rho(table, 'val_loss', of='E_struct'))}."
    return text


def results_table(store, model: str, mode: str | None, params: AnalysisParams | None = None,
                  id: str = "results") -> Table:
    if params is None:
        df = results_frame(store, model, mode=mode).drop(columns=["aid"])
    else:  # that parameter set's analysis of each graph
        df = results_frame(store, model, mode=params.mode, all_analyses=True)
        df = df[df["aid"] == df["gid"].map(params.analysis_id)].drop(columns=["aid", "params"]).reset_index(drop=True)
    if not (df["null"].notna() & (df["null"] != "none")).any():
        df = df.drop(columns=NULL_RESULT_COLUMNS)
    if not (df["band"] == "relative").any():
        df = df.drop(columns=["band"])  # the paper's absolute band throughout: as before bands existed
    df = df[["step", "sample", "gid"] + [c for c in df.columns if c not in ("step", "sample", "gid")]]
    caption = ("One row per stored graph: its headline analysis" + (f" in {mode} mode" if mode else "")
               + ", else the newest; graphs without one have empty values. min R² is the worst fit of "
                 "the box-counting regressions over q; T the distance threshold.")
    return frame_table(df, id, RESULT_LABELS, caption=caption)


def band_census_table(store, model: str, threshold: float, id: str = "band-census") -> Table:
    """The band-census query summed over the model's graphs, per layer kind of the source neuron."""
    rows = run_query("band-census", store=store, model=model, threshold=threshold)
    if rows.empty:
        raise NotFoundError(f"model {model!r} has no stored synapses to count")
    cols = ["edges", "structural", "below_band", "in_band", "beyond_band"]
    by = rows.groupby("kind", sort=False)[cols].sum().reset_index()
    caption = (f"Synapses of the {rows['graph'].nunique()} stored graphs by the layer kind of their source: "
               f"structural (qkv → context), learned below the distance band (d ≤ 1), in it (1 < d ≤ T) and "
               f"beyond it (d > T), with T = {fmt(threshold)}.")
    return frame_table(by, id, {"below_band": "below band", "in_band": "in band", "beyond_band": "beyond band"},
                       caption=caption)


class _Page:
    """Sections, table and figure ids, and notes collected while reading the database. ``prefix``
    (a model's name on a page of several) goes before every id and note."""

    def __init__(self) -> None:
        self.sections: list[Section] = []
        self.tables: list[str] = []
        self.figures: list[str] = []
        self.notes: list[str] = []
        self.prefix = ""

    def id(self, id: str) -> str:
        return f"{self.prefix}-{id}" if self.prefix else id

    def note(self, what: str, exc: NeuromfaError) -> str:
        text = (f"{self.prefix}: " if self.prefix else "") + f"{what}: {exc.message}" + (f" ({exc.hint})" if exc.hint else "")
        self.notes.append(text)
        return note_html(text)

    def table(self, table: Table) -> str:
        table = table.model_copy(update={"id": self.id(table.id)})
        self.tables.append(table.id)
        return table_html(table)

    def figure(self, image: FigureImage) -> str:
        image = image.model_copy(update={"id": self.id(image.id)})
        self.figures.append(image.id)
        return figure_html(image)

    def section(self, id: str, title: str, html: str) -> None:
        title = f"{self.prefix}: {title}" if self.prefix else title
        self.sections.append(Section(id=self.id(id), title=title, html=html))


def _overview(page: _Page, store, model: str) -> None:
    summary = model_summary(store, model)
    wide = checkpoint_metrics(store, model)
    steps = sorted(int(s) for s in wide["step"])
    html = key_value_html(summary_pairs(summary, steps, [c for c in wide.columns if c != "step"]), page.id("summary"))
    page.tables.append(page.id("summary"))
    try:
        modes = modes_table(store, model)
        html += "\n<h3>Analyses by mode</h3>\n" + (page.table(modes) if modes else "<p>none yet</p>")
    except NeuromfaError as exc:
        html += page.note("analyses", exc)
    page.section("overview", "Model", html)


def _emergence(page: _Page, store, model: str, mode: str | None, reference_step: int | None,
               title: str, params: AnalysisParams | None) -> list[int]:
    """The emergence table and figure (a checkpoint table, no figure, for one step); returns the table's steps."""
    try:
        table, metrics = emergence_and_metrics(store, model, mode, reference_step, params)
    except NeuromfaError as exc:
        page.section("emergence-section", title, page.note("emergence", exc))
        return []
    html = page.table(emergence_table(table, mode, reference_step))
    if len(table) == 1:  # a single checkpoint: no training axis to draw
        page.section("emergence-section", f"Checkpoint at step {fmt(int(table['step'].iloc[0]))}", html)
        return [int(s) for s in table["step"]]
    if (rho := spearman_text(table)) is not None:
        html += caption_html(rho)
    try:
        fig, drawn = emergence_figure(table, metrics_df=metrics if len(metrics) else None)
        second = f"; dashed red: {drawn.metric} on the right axis" if drawn.metric else ""
        null = ("; dashed grey: the null model (mean, shaded ±1 std of one draw), orange: E_struct = E − E_null"
                if drawn.null else "")
        html += page.figure(figure_image(
            fig, "emergence-figure", "Emergence over training",
            f"α₀, spectrum width w and E against training step, mean ± std over samples{second}{null}."))
    except NeuromfaError as exc:
        html += page.note("emergence figure", exc)
    page.section("emergence-section", title, html)
    return [int(s) for s in table["step"]]


def _spectra_and_nfd(page: _Page, store, model: str, mode: str | None, params: AnalysisParams | None) -> None:
    try:
        spectra = spectra_frame(store, model, mode, params)
    except NeuromfaError as exc:  # no analysis at all: one note, no NFD section
        page.section("spectra-section", "f(α) spectra", page.note("spectra", exc))
        return
    try:
        fig, drawn = spectrum_figure(spectra)
        skipped = f", {drawn.skipped_rows} non-finite spectra left out" if drawn.skipped_rows else ""
        what = (f"f(α) at step {fmt(drawn.steps[0])}, the one analysed checkpoint: mean over samples with a ±1 std band"
                if len(drawn.steps) == 1 else f"f(α) per step: mean over samples with a ±1 std band; {len(drawn.steps)} steps")
        html = page.figure(figure_image(fig, "spectra-figure", "Multifractal spectra", f"{what}{skipped}."))
    except NeuromfaError as exc:
        html = page.note("spectra", exc)
    page.section("spectra-section", "f(α) spectra", html)

    last_step = int(spectra["step"].max())
    try:
        fig, nfd_drawn = nfd_figure(nfd_frame(store, model, mode, last_step, params))
        html = page.figure(figure_image(
            fig, "nfd-figure", "Node fractal dimension",
            f"NFD per layer kind at step {fmt(last_step)}, the last analysed; "
            f"{fmt(nfd_drawn.excluded)} ineligible neurons (no NFD) left out."))
    except NeuromfaError as exc:
        html = page.note("NFD", exc)
    page.section("nfd-section", "Node fractal dimension", html)


def _band_census(page: _Page, store, model: str, mode: str | None, params: AnalysisParams | None) -> None:
    """The band census at the analyses' T (the chosen set's, else the headline analyses', else 150)."""
    if params is not None:
        threshold = params.threshold
    else:
        ts = results_frame(store, model, mode=mode)["threshold"].dropna()
        threshold = float(ts.mode().iloc[0]) if len(ts) else AnalysisParams().threshold
    try:
        html = page.table(band_census_table(store, model, threshold))
    except NeuromfaError as exc:
        html = page.note("band census", exc)
    page.section("band-census-section", "Synapses by distance band", html)


def _results(page: _Page, store, model: str, mode: str | None, title: str,
             params: AnalysisParams | None) -> None:
    try:
        html = page.table(results_table(store, model, mode, params))
    except NeuromfaError as exc:
        html = page.note("results", exc)
    page.section("results-section", title, html)


def _generated() -> str:
    try:
        ver = version("neuromfa")
    except PackageNotFoundError:
        ver = "(unknown version)"
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"generated {when} by neuromfa {ver}"


def _model_sections(page: _Page, store, model: str, mode: str | None, reference_step: int | None,
                    params: AnalysisParams | None) -> tuple[str | None, list[int]]:
    """A model's sections; returns the mode shown and the emergence table's steps."""
    _overview(page, store, model)
    if params is not None:
        mode = params.mode
    elif mode is None:  # the mode most graphs' headline analyses have, where one is stored
        headline = results_frame(store, model)["mode"].dropna()
        mode = str(headline.mode().iloc[0]) if len(headline) else None
    mode_words = (f"{mode} mode" if mode else "current analyses") + (f", {describe(params)}" if params else "")
    steps = _emergence(page, store, model, mode, reference_step, f"Emergence ({mode_words})", params)
    _spectra_and_nfd(page, store, model, mode, params)
    if len(steps) == 1:
        _band_census(page, store, model, mode, params)
    _results(page, store, model, mode, f"Results per graph ({mode_words})", params)
    return mode, steps


def _comparison(page: _Page, store, models: list[str], mode: str | None, chosen: ParamFilter,
                params: dict[str, AnalysisParams | None]) -> None:
    """The compare table and the models' overlaid spectra (each at its last analysed step)."""
    html = ""
    try:
        df = compare_frame(store, models, chosen=chosen)
        if mode is not None:
            df = df[df["mode"] == mode]
        shown = df.assign(**{"mean ± std": [fmt_pm(m, s) for m, s in zip(df["mean"], df["std"])]})
        shown = shown[["mode", "quantity", "model", "step", "n", "mean ± std", "diff", "diff_pooled_std"]]
        html += page.table(frame_table(
            shown, "compare", {"diff_pooled_std": "diff / pooled std"},
            caption=(f"Per mode, under one parameter set ({'; '.join(sorted(set(df['params'])))}): mean ± std "
                     f"(ddof 1) over each model's samples at its last step; diff = mean − the first model's "
                     f"({models[0]}), and in units of the pooled sample std. *_excess: real − the null mean per graph.")))
    except NeuromfaError as exc:
        html += page.note("comparison", exc)
    try:
        frames = {m: spectra_frame(store, m, mode, params[m]) for m in models}
        fig, drawn = models_spectrum_figure(frames)
        html += page.figure(figure_image(
            fig, "compare-spectra-figure", "Spectra of the models",
            "f(α) of each model at its last analysed step (" + ", ".join(f"{m}: step {fmt(s)}" for m, s in drawn.steps.items())
            + "): mean over samples with a ±1 std band."))
    except NeuromfaError as exc:
        html += page.note("compared spectra", exc)
    page.section("comparison-section", "Comparison", html)


def write_report(store, model: str | Sequence[str], out_dir: str | Path, mode: str | None = None,
                 reference_step: int | None = None, *, aid: str | None = None, threshold: float | None = None,
                 band: str | None = None, null: str | None = None) -> ReportInfo:
    """Write ``out_dir/<model>-report.html`` (``:`` in the name becomes ``_``; several models:
    their names joined by ``_vs_``, a comparison section first, then each model's sections) and
    say what it holds. ``mode`` None = each graph's current analysis; ``reference_step`` = t0 of E
    (default the earliest analysed step); ``aid`` or ``threshold`` / ``band`` / ``null`` choose one
    parameter set as in ``results``. A model analysed at one step gets a checkpoint page (no
    training axis, a band census). NotFoundError when a model is not stored."""
    models = [model] if isinstance(model, str) else list(model)
    if not models:
        raise ConfigError("the report needs a model", f"name one with {param('model')}", param="model")
    if len(set(models)) < len(models):
        raise ConfigError("a model is named twice", "name each model once", param="model")
    for m in models:
        model_summary(store, m)  # an unknown model fails first
    chosen = ParamFilter(aid=aid, threshold=threshold, band=band, null=null)
    params = params_per_model(store, models, mode, chosen)
    page = _Page()
    if len(models) > 1:
        _comparison(page, store, models, mode, chosen, params)
    shown_mode, steps = None, []
    for m in models:
        page.prefix = m if len(models) > 1 else ""
        mode_m, steps_m = _model_sections(page, store, m, mode, reference_step, params[m])
        if m == models[0]:
            shown_mode, steps = mode_m, steps_m
    name = "_vs_".join(models)

    path = report_path(out_dir, name)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page_html(f"NeuroMFA report: {', '.join(models)}", _generated(), page.sections), encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write the report to {path}: {exc.strerror or exc}",
                          f"choose a writable {param('out')} folder", param="out") from None
    return ReportInfo(path=path, model=name, models=models, mode=shown_mode, steps=steps, tables=page.tables,
                      figures=page.figures, notes=page.notes)
