"""`neuromfa demo`: the main job, end to end on the configured (default: local) database."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from neuromfa.base.limits import MAX_K, MAX_SAMPLES, check_neurons, check_samples, check_workers, max_workers
from neuromfa.cli.common import cli_store
from neuromfa.cli.console import console, err_console


def _pm(mean, std) -> str:
    if mean is None or mean != mean:
        return "-"
    return f"{mean:.4f}" if std is None or std != std else f"{mean:.4f} ± {std:.4f}"


def _num(value, digits: int = 4) -> str:
    return "-" if value is None or value != value else f"{value:.{digits}f}"


def _table(result) -> Table:
    table = Table(title=f"{result.name} ({result.mode} mode, {result.band} band): alpha_0, width and E per "
                        f"step (mean ± std over samples), E_null from the {result.null} null, E_struct = E - E_null")
    for col in ("step", "val_loss", "token acc", "alpha_0", "width", "E", "E_null", "E_struct"):
        table.add_column(col, justify="right")
    for r in result.table:
        table.add_row(
            str(r["step"]), _num(r.get("val_loss"), 3), _num(r.get("token_accuracy"), 3),
            _pm(r["alpha0_mean"], r["alpha0_std"]), _pm(r["width_mean"], r["width_std"]),
            _pm(r["E_mean"], r["E_std"]), _num(r.get("E_null")), _num(r.get("E_struct")),
        )
    return table


def demo(
    out: Path = typer.Option(Path("neuromfa-demo"), "--out", help="Folder for the trained run and the figures."),
    preset: str = typer.Option("tiny", "--preset", help="Training preset: tiny (about a minute) or small."),
    samples: int = typer.Option(3, "--samples", help=f"Samples (SNINs) per checkpoint: 1 to {MAX_SAMPLES}."),
    neurons: int = typer.Option(32, "--neurons", "-k", help=f"Neurons per layer per sample: 1 to {MAX_K}, and at most the model's hidden size."),
    workers: int = typer.Option(2, "--workers", help=f"Analysis worker processes: 1 to {max_workers()} here (4 per CPU, at most 64)."),
) -> None:
    """Train a small model offline, ingest its checkpoints, analyse them, print the table, draw the figures."""
    # before the server or the training starts
    check_samples(samples)
    check_neurons(neurons)
    check_workers(workers)
    from neuromfa.demo import run_demo

    with cli_store() as store, Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err_console,
    ) as progress:
        tasks: dict[str, int] = {}

        def bar(name: str, total=None):
            if name not in tasks:
                tasks[name] = progress.add_task(name, total=total)
            return tasks[name]

        def train_progress(p):
            progress.update(bar("train", p.total), completed=p.step, total=p.total)

        report = run_demo(
            store, out, preset=preset, samples=samples, k=neurons, workers=workers,
            stage=lambda msg: progress.console.print(f"> {msg}"),
            train_progress=train_progress,
            on_graph=lambda gid, written: progress.advance(bar("ingest graphs")),
            on_outcome=lambda o: progress.advance(bar("analysis jobs")),
        )
    for result in report.results:
        console.print(_table(result))
        if result.spearman_E_val_loss is not None:
            struct = result.spearman_E_struct_val_loss
            console.print(f"Spearman correlation with validation loss ({result.name}): E "
                          f"{result.spearman_E_val_loss:+.3f} (p = {result.spearman_p:.2g}), E_struct "
                          + ("-" if struct is None else f"{struct:+.3f}"))
    console.print("figures: " + ", ".join(str(p) for p in report.figures if p.suffix == ".png"))
    console.print("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in report.seconds.items()))


def register(app: typer.Typer) -> None:
    app.command()(demo)
