"""`neuromfa sweep`: the same analysis at several thresholds T, one row per T, and a warning when
a sign depends on T."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from neuromfa import api
from neuromfa.base.errors import ConfigError
from neuromfa.base.limits import MAX_NULL_SAMPLES, MAX_SWEEP_THRESHOLDS, MAX_THRESHOLD, check_workers, max_workers
from neuromfa.cli.analyze_commands import BandChoice, ModeChoice, NullChoice
from neuromfa.cli.common import cli_store
from neuromfa.cli.console import err_console
from neuromfa.cli.output import Format, emit

THRESHOLD_HELP = (f"Thresholds T, comma-separated (repeatable), e.g. 50,150,500; each finite, "
                  f"1 < T <= {MAX_THRESHOLD:,.0f}; at most {MAX_SWEEP_THRESHOLDS} of them.")


def parse_thresholds(values: list[str]) -> list[float]:
    """'50,150' '500' -> [50.0, 150.0, 500.0]; anything else is one ConfigError line."""
    out = []
    for value in values:
        for part in value.split(","):
            try:
                out.append(float(part.strip()))
            except ValueError:
                raise ConfigError(f"invalid --threshold {value!r}: {part.strip()!r} is not a number",
                                  "give comma-separated numbers, e.g. --threshold 50,150,500") from None
    return out


def sweep(
    model: str = typer.Option(..., "--model", "-m", help="Model name (as ingested)."),
    threshold: list[str] = typer.Option(..., "--threshold", "-T", help=THRESHOLD_HELP),
    mode: Optional[ModeChoice] = typer.Option(None, "--mode", help="Box growing mode, as in `neuromfa analyze`.  \\[default: layered where the graphs are layer DAGs, else shortest-path]"),
    band: Optional[BandChoice] = typer.Option(None, "--band", help="absolute (the paper's) or relative (scale-free).  \\[default: absolute]"),
    null: Optional[NullChoice] = typer.Option(None, "--null", help="Null model beside each graph (gives E_struct): shuffle or gaussian.  \\[default: none]"),
    null_samples: Optional[int] = typer.Option(None, "--null-samples", help=f"Null draws per graph, 2 to {MAX_NULL_SAMPLES}.  \\[default: 10]"),
    min_mass: Optional[int] = typer.Option(None, "--min-mass", help="Eligible nodes have more than this many nodes within T.  \\[default: 10]"),
    reference_step: Optional[int] = typer.Option(None, "--reference-step", help="t0 of E(t). Default: the earliest analysed step."),
    workers: int = typer.Option(1, "--workers", "-w", help=f"Jobs run at the same time: 1 to {max_workers()} here."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write to this file instead of the terminal."),
) -> None:
    """Robustness over T: per threshold, alpha_0, width, E, E_null and E_struct at the last step and
    the Spearman correlation of E with every checkpoint metric (rho_<metric>) and given log_rms
    (prho_<metric>), then a row per stored weight-scale baseline with its own rho_<metric>; warns
    when a sign changes between thresholds."""
    check_workers(workers)
    thresholds = parse_thresholds(threshold)

    def on_analyzed(report: api.AnalyzeReport) -> None:
        counts = ", ".join(f"{v} {k}" for k, v in sorted(report.counts().items())) or "no jobs"
        reused = f", {len(report.reused)} reused" if report.reused else ""
        err_console.print(f"T={report.params.threshold:g}: {counts}{reused} in {report.seconds:.1f} s")

    result = api.sweep(model, thresholds, mode=mode.value if mode else None, band=band.value if band else None,
                       null=null.value if null else None, null_samples=null_samples, min_mass=min_mass,
                       reference_step=reference_step, workers=workers, notify=err_console.print,
                       on_analyzed=on_analyzed)
    from neuromfa.results.validity import sweep_with_baselines

    with cli_store() as store:
        table = sweep_with_baselines(store, model, result.frame(), result.params)
    emit(table, fmt, title=f"threshold sweep of {model} ({result.params[0].mode})", out=out)
    if result.warning:
        err_console.print(f"warning: {result.warning}")


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep)
