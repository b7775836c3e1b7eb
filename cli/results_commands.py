"""`neuromfa results` (one row per graph) and `neuromfa emergence` (one row per step)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from neuromfa import api
from neuromfa.cli.analyze_commands import ModeChoice
from neuromfa.cli.common import cli_store
from neuromfa.cli.output import Format, emit


def results(
    model: str = typer.Option(..., "--model", "-m", help="Model name."),
    step: Optional[list[int]] = typer.Option(None, "--step", help="Only this step (repeatable)."),
    mode: Optional[ModeChoice] = typer.Option(None, "--mode", help="Only analyses of this mode. Default: each graph's latest analysis."),
    all_analyses: bool = typer.Option(False, "--all", help="One row per stored analysis (every mode and parameter set)."),
    timings: bool = typer.Option(False, "--timings", help="Add seconds spent pulling, computing and writing back."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write to this file instead of the terminal."),
) -> None:
    """Analysis results of a model: one row per graph (alpha_0, width, fit quality, counts)."""
    with cli_store() as store:
        df = api.results(model, step, mode=mode.value if mode else None, all_analyses=all_analyses,
                         timings=timings, store=store)
    if fmt is Format.table:
        df = df.drop(columns=["aid", "params"], errors="ignore")  # long ids: in json/csv only
    emit(df, fmt, title=f"results of {model}", out=out)


def emergence(
    model: str = typer.Option(..., "--model", "-m", help="Model name."),
    reference_step: Optional[int] = typer.Option(None, "--reference-step", help="t0 of E(t). Default: the earliest analysed step."),
    mode: Optional[ModeChoice] = typer.Option(None, "--mode", help="Analyses of this mode (needed when a model has several)."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write to this file instead of the terminal."),
) -> None:
    """Degree of emergence over training: per step mean/std alpha_0 and width, E, the checkpoint's weight-scale baselines (log_rms, log_norm, log_spectral_norm) and its metrics (e.g. val_loss)."""
    with cli_store() as store:
        df = api.emergence(model, reference_step, mode=mode.value if mode else None, store=store)
    emit(df, fmt, title=f"emergence of {model}", out=out)


def register(app: typer.Typer) -> None:
    app.command("results")(results)
    app.command("emergence")(emergence)
