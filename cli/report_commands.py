"""`neuromfa report --model NAME --out DIR`: one self-contained HTML page about a model."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from neuromfa.cli.analyze_commands import ModeChoice
from neuromfa.cli.common import cli_store, err_console


def report(
    model: str = typer.Option(..., "--model", "-m", help="Model name."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder to write NAME-report.html into (created if needed)."),
    mode: Optional[ModeChoice] = typer.Option(None, "--mode", help="Analyses of this mode. Default: the mode of most graphs' current analyses."),
    reference_step: Optional[int] = typer.Option(None, "--reference-step", help="t0 of E(t). Default: the earliest analysed step."),
) -> None:
    """A self-contained HTML report of a model (summary, emergence table, figures, results per
    graph): open it in any browser, no network needed."""
    from neuromfa.report import write_report

    with cli_store() as store:
        info = write_report(store, model, out, mode=mode.value if mode else None, reference_step=reference_step)
    for note in info.notes:
        err_console.print(f"note: {note}")
    err_console.print(f"wrote {info.path} ({len(info.steps)} steps, {len(info.tables)} tables, "
                      f"{len(info.figures)} figures)")


def register(app: typer.Typer) -> None:
    app.command("report")(report)
