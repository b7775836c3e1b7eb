"""`neuromfa results` (one row per graph) and `neuromfa emergence` (one row per step)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from neuromfa import api
from neuromfa.base.errors import ConfigError, param
from neuromfa.cli.analyze_commands import BandChoice, ModeChoice, NullChoice
from neuromfa.cli.common import cli_store
from neuromfa.cli.console import err_console
from neuromfa.cli.output import WIDE_HELP, Format, emit
from neuromfa.results.by_block import by_block_frame
from neuromfa.results.tables import poor_fit_warning

AID_HELP = "Only the parameter set of this analysis (an aid: `results --all-analyses -f csv` lists them)."
SET_HELP = "Only the parameter set with this {} (an error lists the sets when several remain)."

# Left out first when a table is wider than the terminal (then from the right).
RESULTS_DROP_FIRST = ["gid", "edges_used", "nodes_used", "band", "null", "passed_filter", "alpha0_z", "width_z"]
EMERGENCE_DROP_FIRST = ["mode", "E_mean", "E_std", "n_paired", "alpha0_null_std", "width_null_std"]


def warn_poor_fits(df, what: str) -> None:
    """The poor-fit warning (r^2 below 0.9) on stderr, when there is one."""
    warning = poor_fit_warning(df, what)
    if warning:
        err_console.print(f"warning: {warning}")


def results(
    model: list[str] = typer.Option(..., "--model", "-m", help="Model name (repeat for several: a model column first)."),
    step: Optional[list[int]] = typer.Option(None, "--step", help="Only this step (repeatable)."),
    mode: Optional[ModeChoice] = typer.Option(None, "--mode", help="Only analyses of this mode. Default: each graph's latest analysis."),
    all_analyses: bool = typer.Option(False, "--all-analyses", "--all", help="One row per stored analysis (every mode and parameter set)."),
    timings: bool = typer.Option(False, "--timings", help="Add seconds spent pulling, computing and writing back."),
    aid: Optional[str] = typer.Option(None, "--aid", help=AID_HELP),
    threshold: Optional[float] = typer.Option(None, "--threshold", "-T", help=SET_HELP.format("T")),
    band: Optional[BandChoice] = typer.Option(None, "--band", help=SET_HELP.format("band")),
    null: Optional[NullChoice] = typer.Option(None, "--null", help=SET_HELP.format("null model")),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write to this file instead of the terminal."),
    wide: bool = typer.Option(False, "--wide", help=WIDE_HELP),
    by_block: bool = typer.Option(False, "--by-block", help="One row per graph and block: each block's sub-SNIN "
                                  "analysed in process with its graph's parameters (not stored)."),
) -> None:
    """Analysis results of a model: one row per graph (alpha_0, width, fit quality, counts)."""
    with cli_store() as store:
        df = api.results(model, step, mode=mode.value if mode else None, all_analyses=all_analyses,
                         timings=timings, aid=aid, threshold=threshold, band=band.value if band else None,
                         null=null.value if null else None, store=store)
        if by_block:
            if len(model) > 1:
                raise ConfigError(f"{param('by_block')} takes one model", f"name one model with {param('model')}", param="model")
            df = by_block_frame(store, model[0], df)
    if fmt is Format.table:
        df = df.drop(columns=["aid", "params"], errors="ignore")  # long ids: in json/csv only
    warn_poor_fits(df, "analyses")
    emit(df, fmt, title=f"results of {', '.join(model)}", out=out, wide=wide, drop_first=RESULTS_DROP_FIRST)


def emergence(
    model: list[str] = typer.Option(..., "--model", "-m", help="Model name (repeat for several: a model column first)."),
    reference_step: Optional[int] = typer.Option(None, "--reference-step", help="t0 of E(t). Default: the earliest analysed step."),
    mode: Optional[ModeChoice] = typer.Option(None, "--mode", help="Analyses of this mode (needed when a model has several)."),
    aid: Optional[str] = typer.Option(None, "--aid", help=AID_HELP),
    threshold: Optional[float] = typer.Option(None, "--threshold", "-T", help=SET_HELP.format("T")),
    band: Optional[BandChoice] = typer.Option(None, "--band", help=SET_HELP.format("band")),
    null: Optional[NullChoice] = typer.Option(None, "--null", help=SET_HELP.format("null model")),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write to this file instead of the terminal."),
    wide: bool = typer.Option(False, "--wide", help=WIDE_HELP),
) -> None:
    """Degree of emergence over training: per step mean/std alpha_0 and width, E, the checkpoint's weight-scale baselines (log_rms, log_norm, log_spectral_norm) and its metrics (e.g. val_loss)."""
    with cli_store() as store:
        df = api.emergence(model, reference_step, mode=mode.value if mode else None, aid=aid, threshold=threshold,
                           band=band.value if band else None, null=null.value if null else None, store=store)
    warn_poor_fits(df, "steps")
    emit(df, fmt, title=f"emergence of {', '.join(model)}", out=out, wide=wide, drop_first=EMERGENCE_DROP_FIRST)


def register(app: typer.Typer) -> None:
    app.command("results")(results)
    app.command("emergence")(emergence)
