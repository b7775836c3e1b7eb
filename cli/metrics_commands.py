"""`neuromfa metrics import FILE --model NAME`."""

from __future__ import annotations

from pathlib import Path

import typer

from neuromfa.cli.common import cli_store, err_console

metrics_app = typer.Typer(help="Attach external per-step scores to a model's checkpoints.", no_args_is_help=True)


@metrics_app.command("import")
def import_(
    file: Path = typer.Argument(..., help="CSV (step,metric,value) or JSON ([{step, metric, value}] or {step: {metric: value}})."),
    model: str = typer.Option(..., "--model", "-m", help="Model whose checkpoints get the scores."),
) -> None:
    """Merge the scores into Checkpoint.metrics (existing values of the same metric are replaced)."""
    from neuromfa.ingest.metrics_import import import_metrics_file

    with cli_store() as store:
        report = import_metrics_file(store, file, model)
    err_console.print(f"{model}: {report.values} value(s) of {', '.join(report.metrics)} attached to "
                      f"{len(report.steps_updated)} checkpoint(s)")
    if report.steps_missing:
        err_console.print(f"skipped step(s) with no stored checkpoint: {', '.join(map(str, report.steps_missing))}")


def register(app: typer.Typer) -> None:
    app.add_typer(metrics_app, name="metrics")
