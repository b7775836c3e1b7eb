"""`neuromfa plot spectrum|emergence|nfd --model NAME --out FILE`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from neuromfa.base.errors import ConfigError
from neuromfa.cli.analyze_commands import BandChoice, ModeChoice, NullChoice
from neuromfa.cli.common import cli_store, err_console
from neuromfa.cli.results_commands import AID_HELP, SET_HELP
from neuromfa.results.compare import selected_params

plot_app = typer.Typer(help="Draw figures of stored analyses (PNG and SVG).", no_args_is_help=True)

MODE_HELP = "Analyses of this mode. Default: each graph's current (latest) analysis."
OUT_HELP = "Output file in an existing folder; .png and .svg are written."


def _check_out(out: Path) -> None:
    """A missing output folder fails before the database is opened (plots import matplotlib: on use)."""
    from neuromfa.plots.figure import check_output_dir

    check_output_dir(out)


def _selected(store, model: str, mode, aid, threshold, band, null):
    """The parameter set the selectors choose (None: each graph's current analysis)."""
    return selected_params(store, model, mode.value if mode else None, aid=aid, threshold=threshold,
                           band=band.value if band else None, null=null.value if null else None)


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
    from neuromfa.results.compare import ParamFilter, params_per_model

    _check_out(out)
    if len(set(model)) < len(model):
        raise ConfigError("a model is named twice", "name each model once", param="model")
    chosen = ParamFilter(aid=aid, threshold=threshold, band=band.value if band else None,
                         null=null.value if null else None)
    with cli_store() as store:
        params = params_per_model(store, model, mode.value if mode else None, chosen)
        frames = {m: spectra_frame(store, m, mode.value if mode else None, params[m]) for m in model}
    if len(model) == 1:
        _done(plot_spectra(frames[model[0]], out))
    else:
        _done(plot_model_spectra(frames, out))


@plot_app.command()
def emergence(
    model: str = typer.Option(..., "--model", "-m"),
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    mode: Optional[ModeChoice] = typer.Option(None, "--mode", help=MODE_HELP),
    aid: Optional[str] = typer.Option(None, "--aid", help=AID_HELP),
    threshold: Optional[float] = typer.Option(None, "--threshold", "-T", help=SET_HELP.format("T")),
    band: Optional[BandChoice] = typer.Option(None, "--band", help=SET_HELP.format("band")),
    null: Optional[NullChoice] = typer.Option(None, "--null", help=SET_HELP.format("null model")),
    metric: Optional[str] = typer.Option(None, "--metric", help="Checkpoint metric on the second axis (default val_loss if stored)."),
    reference_step: Optional[int] = typer.Option(None, "--reference-step", help="t0 of E (default the earliest step)."),
) -> None:
    """alpha_0, width and E against step, with a checkpoint metric on a second axis."""
    from neuromfa.plots.data import emergence_and_metrics
    from neuromfa.plots.emergence import plot_emergence

    _check_out(out)
    with cli_store() as store:
        table, metrics = emergence_and_metrics(store, model, mode.value if mode else None, reference_step,
                                               _selected(store, model, mode, aid, threshold, band, null))
    _done(plot_emergence(table, out, metric=metric, metrics_df=metrics if len(metrics) else None))


@plot_app.command()
def nfd(
    model: str = typer.Option(..., "--model", "-m"),
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    mode: Optional[ModeChoice] = typer.Option(None, "--mode", help=MODE_HELP),
    aid: Optional[str] = typer.Option(None, "--aid", help=AID_HELP),
    threshold: Optional[float] = typer.Option(None, "--threshold", "-T", help=SET_HELP.format("T")),
    band: Optional[BandChoice] = typer.Option(None, "--band", help=SET_HELP.format("band")),
    null: Optional[NullChoice] = typer.Option(None, "--null", help=SET_HELP.format("null model")),
    step: Optional[int] = typer.Option(None, "--step", help="Checkpoint step (default the last analysed)."),
) -> None:
    """Node fractal dimension distribution per layer kind."""
    from neuromfa.plots.data import nfd_frame
    from neuromfa.plots.nfd import plot_nfd

    _check_out(out)
    with cli_store() as store:
        df = nfd_frame(store, model, mode.value if mode else None, step,
                       _selected(store, model, mode, aid, threshold, band, null))
    _done(plot_nfd(df, out))


def register(app: typer.Typer) -> None:
    app.add_typer(plot_app, name="plot")
