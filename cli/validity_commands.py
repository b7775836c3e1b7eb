"""`neuromfa validity --model NAME [--model NAME2 ...] [--metric val_loss]`: every NeuroMFA
quantity and every weight-scale baseline against a checkpoint metric."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from neuromfa.base.errors import ConfigError, param
from neuromfa.cli.common import cli_store, err_console
from neuromfa.cli.output import Format, emit


def validity(
    model: list[str] = typer.Option(..., "--model", "-m", help="Model name; repeat it for several runs (adds the correlation across runs at equal step)."),
    metric: str = typer.Option("val_loss", "--metric", help="Checkpoint metric to correlate with."),
    negate: Optional[bool] = typer.Option(None, "--negate/--no-negate", help="Correlate with -metric (higher is better). Default: yes for losses, perplexities and errors."),
    plot: Optional[Path] = typer.Option(None, "--plot", "-p", help="Also draw each quantity against the metric: PNG + SVG at this path, in an existing folder."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the table to this file instead of the terminal."),
) -> None:
    """Spearman rho of every NeuroMFA quantity (E, E_null, E_struct, alpha0, width and their excess
    over the null, per stored mode/band/T) and every baseline (log_rms, log_norm, log_spectral_norm,
    WeightWatcher's ww_* where stored) with the metric, the partial rho given log_rms, and across runs."""
    from neuromfa.results.validity import validity_table

    if plot is not None:  # before the database: a mistyped folder fails first
        from neuromfa.plots.figure import output_paths

        folder = output_paths(plot)[0].parent
        if not folder.is_dir():
            raise ConfigError(f"cannot write the figure {output_paths(plot)[0].name}: {folder} is not an existing folder",
                              f"create the folder first or pass {param('plot')} in an existing one", param="plot")
    with cli_store() as store:
        report = validity_table(store, model, metric, negate=negate)
    emit(report.frame(), fmt, title=f"validity of {', '.join(model)}: Spearman rho with {report.against} over "
         f"{report.n_checkpoints} checkpoints; partial rho given {report.control}", out=out)
    for note in report.notes:
        err_console.print(f"note: {note}")
    if plot is not None:
        from neuromfa.plots.validity import plot_validity

        summary = plot_validity(report, plot)
        err_console.print("wrote " + ", ".join(str(p) for p in summary.paths))


def register(app: typer.Typer) -> None:
    app.command("validity")(validity)
