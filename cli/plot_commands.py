"""`neuromfa plot spectrum|emergence|nfd --model NAME [--model ...] --out FILE`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from neuromfa.base.errors import ConfigError, param
from neuromfa.cli.analyze_commands import BandChoice, ModeChoice, NullChoice
from neuromfa.cli.common import cli_store, err_console
from neuromfa.cli.results_commands import AID_HELP, SET_HELP

plot_app = typer.Typer(help="Draw figures of stored analyses (PNG and SVG).", no_args_is_help=True)

MODE_HELP = "Analyses of this mode. Default: each graph's current (latest) analysis."
OUT_HELP = "Output file in an existing folder; .png and .svg are written."


def _check_out(out: Path) -> None:
    """A missing output folder fails before the database is opened (plots import matplotlib: on use)."""
    from neuromfa.plots.figure import check_output_dir

    check_output_dir(out)


def _distinct(models: list[str]) -> None:
    if len(set(models)) < len(models):
        raise ConfigError("a model is named twice", "name each model once", param="model")


def _chosen(aid, threshold, band, null):
    from neuromfa.results.compare import ParamFilter

    return ParamFilter(aid=aid, threshold=threshold, band=band.value if band else None,
                       null=null.value if null else None)


def _done(summary) -> None:
    err_console.print("wrote " + ", ".join(str(p) for p in summary.paths))


@plot_app.command()
def spectrum(
    model: list[str] = typer.Option(..., "--model", "-m", help="Model name (repeat for several: each model's last step, overlaid)."),
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    mode: Optional[ModeChoice] = typer.Option(None, "--mode", help=MODE_HELP),
    aid: Optional[str] = typer.Option(None, "--aid", help=AID_HELP),
    threshold: Optional[float] = typer.Option(None, "--threshold", "-T", help=SET_HELP.format("T")),
    band: Optional[BandChoice] = typer.Option(None, "--band", help=SET_HELP.format("band")),
    null: Optional[NullChoice] = typer.Option(None, "--null", help=SET_HELP.format("null model")),
) -> None:
    """f(alpha) spectra over training: one curve per step, band over samples; several models:
    one curve each (its last step) in one figure."""
    from neuromfa.plots.data import spectra_frame
    from neuromfa.plots.spectrum import plot_model_spectra, plot_spectra
    from neuromfa.results.compare import params_per_model

    _check_out(out)
    _distinct(model)
    with cli_store() as store:
        params = params_per_model(store, model, mode.value if mode else None, _chosen(aid, threshold, band, null))
        frames = {m: spectra_frame(store, m, mode.value if mode else None, params[m]) for m in model}
    if len(model) == 1:
        _done(plot_spectra(frames[model[0]], out))
    else:
        _done(plot_model_spectra(frames, out))


@plot_app.command()
def emergence(
    model: list[str] = typer.Option(..., "--model", "-m", help="Model name (repeat for several: one curve each, at its own steps)."),
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    mode: Optional[ModeChoice] = typer.Option(None, "--mode", help=MODE_HELP),
    aid: Optional[str] = typer.Option(None, "--aid", help=AID_HELP),
    threshold: Optional[float] = typer.Option(None, "--threshold", "-T", help=SET_HELP.format("T")),
    band: Optional[BandChoice] = typer.Option(None, "--band", help=SET_HELP.format("band")),
    null: Optional[NullChoice] = typer.Option(None, "--null", help=SET_HELP.format("null model")),
    metric: Optional[str] = typer.Option(None, "--metric", help="Checkpoint metric on the second axis (default val_loss if stored; one model only)."),
    reference_step: Optional[int] = typer.Option(None, "--reference-step", help="t0 of E (default each model's earliest step)."),
) -> None:
    """alpha_0, width and E against step, with a checkpoint metric on a second axis; several
    models: one curve each per panel (no metric or null model drawn)."""
    from neuromfa.plots.data import emergence_and_metrics
    from neuromfa.plots.emergence import plot_emergence, plot_model_emergence
    from neuromfa.results.compare import params_per_model

    _check_out(out)
    _distinct(model)
    if len(model) > 1 and metric is not None:
        raise ConfigError(f"{param('metric')} draws one model's metric, not that of {len(model)} models",
                          "plot each model alone for its metric", param="metric")
    m0 = mode.value if mode else None
    with cli_store() as store:
        params = params_per_model(store, model, m0, _chosen(aid, threshold, band, null))
        drawn = {m: emergence_and_metrics(store, m, m0, reference_step, params[m]) for m in model}
    if len(model) == 1:
        table, metrics = drawn[model[0]]
        _done(plot_emergence(table, out, metric=metric, metrics_df=metrics if len(metrics) else None))
    else:
        _done(plot_model_emergence({m: table for m, (table, _) in drawn.items()}, out))


@plot_app.command()
def nfd(
    model: list[str] = typer.Option(..., "--model", "-m", help="Model name (repeat for several: side by side per layer kind)."),
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    mode: Optional[ModeChoice] = typer.Option(None, "--mode", help=MODE_HELP),
    aid: Optional[str] = typer.Option(None, "--aid", help=AID_HELP),
    threshold: Optional[float] = typer.Option(None, "--threshold", "-T", help=SET_HELP.format("T")),
    band: Optional[BandChoice] = typer.Option(None, "--band", help=SET_HELP.format("band")),
    null: Optional[NullChoice] = typer.Option(None, "--null", help=SET_HELP.format("null model")),
    step: Optional[int] = typer.Option(None, "--step", help="Checkpoint step, of every model (default each model's last analysed)."),
) -> None:
    """Node fractal dimension distribution per layer kind; several models: one violin each per
    kind, side by side."""
    from neuromfa.plots.data import current_analyses, nfd_frame
    from neuromfa.plots.nfd import plot_model_nfd, plot_nfd
    from neuromfa.results.compare import params_per_model

    _check_out(out)
    _distinct(model)
    m0 = mode.value if mode else None
    with cli_store() as store:
        params = params_per_model(store, model, m0, _chosen(aid, threshold, band, null))
        if len(model) == 1:  # today's figure: no step to name in a legend
            steps: dict[str, int] = {}
            frames = {model[0]: nfd_frame(store, model[0], m0, step, params[model[0]])}
        else:
            # the step drawn goes in the legend: each model's last analysed step unless --step
            steps = {m: step if step is not None else int(current_analyses(store, m, m0, params[m])["step"].max())
                     for m in model}
            frames = {m: nfd_frame(store, m, m0, steps[m], params[m]) for m in model}
    _done(plot_nfd(frames[model[0]], out) if len(model) == 1 else plot_model_nfd(frames, steps, out))


def register(app: typer.Typer) -> None:
    app.add_typer(plot_app, name="plot")
