"""`neuromfa report --model NAME --out DIR`: one self-contained HTML page about a model."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from neuromfa.cli.analyze_commands import BandChoice, ModeChoice, NullChoice
from neuromfa.cli.common import cli_store, err_console
from neuromfa.cli.results_commands import AID_HELP, SET_HELP


def report(
    model: list[str] = typer.Option(..., "--model", "-m", help="Model name (repeat for several: a comparison section first)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder to write NAME-report.html into (created if needed)."),
    mode: Optional[ModeChoice] = typer.Option(None, "--mode", help="Analyses of this mode. Default: the mode of most graphs' current analyses."),
    reference_step: Optional[int] = typer.Option(None, "--reference-step", help="t0 of E(t). Default: the earliest analysed step."),
    aid: Optional[str] = typer.Option(None, "--aid", help=AID_HELP),
    threshold: Optional[float] = typer.Option(None, "--threshold", "-T", help=SET_HELP.format("T")),
    band: Optional[BandChoice] = typer.Option(None, "--band", help=SET_HELP.format("band")),
    null: Optional[NullChoice] = typer.Option(None, "--null", help=SET_HELP.format("null model")),
) -> None:
    """A self-contained HTML report of a model (summary, emergence table, figures, results per
    graph), or of several models with a comparison section: open it in any browser, no network needed."""
    from neuromfa.report import write_report

    with cli_store() as store:
        info = write_report(store, model, out, mode=mode.value if mode else None, reference_step=reference_step,
                            aid=aid, threshold=threshold, band=band.value if band else None,
                            null=null.value if null else None)
    for note in info.notes:
        err_console.print(f"note: {note}")
    err_console.print(f"wrote {info.path} ({len(info.steps)} steps, {len(info.tables)} tables, "
                      f"{len(info.figures)} figures)")


def register(app: typer.Typer) -> None:
    app.command("report")(report)
