"""`neuromfa train-example OUT_DIR`: train the offline example run (GPT-NeoX from scratch)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from neuromfa.cli.console import console
from neuromfa.training.presets import PRESETS

if TYPE_CHECKING:
    from neuromfa.integrations.live import LiveMetrics
    from neuromfa.training.train_example import RunInfo, TrainProgress


def _print_run(info: RunInfo) -> None:
    table = Table(title=f"example run in {info.out_dir}")
    table.add_column("step", justify="right")
    table.add_column("val loss (nats/token)", justify="right")
    table.add_column("token accuracy", justify="right")
    for c in info.checkpoints:
        table.add_row(str(c.step), f"{c.val_loss:.4f}", f"{c.token_accuracy:.3f}")
    console.print(table)
    console.print(f"corpus: {info.corpus.describe()}")


def train_example_cmd(
    out_dir: Path = typer.Argument(..., help="Folder for the run: step*/ checkpoints and run.json."),
    preset: str = typer.Option(
        "tiny", "--preset", "-p",
        help=f"Model and schedule: tiny (< 2 min on 2 cores) or small (bigger). One of {', '.join(PRESETS)}.",
    ),
    corpus: Optional[Path] = typer.Option(
        None, "--corpus", help="Folder of text files to train on (default: the Python standard library's source)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the initialisation and of the batches."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a different run already in OUT_DIR."),
    weight_decay: Optional[float] = typer.Option(
        None, "--weight-decay", help="AdamW weight decay of the matrices, instead of the preset's (another run)."
    ),
    live_every: Optional[int] = typer.Option(
        None, "--live-every", help="Every N steps, analyse the live weights in process (3 samples of k = 32, layered) and print alpha_0, width and E (against step 0)."
    ),
) -> None:
    """Train a small GPT-NeoX language model from scratch, offline, saving Pythia-style
    checkpoints (0, 1, 2, 4, ..., 512, then evenly spaced) with their validation loss.
    A finished run with the same preset, seed and corpus is reused; an interrupted one resumes."""
    if live_every is not None:  # refused before the corpus is read and the bar starts
        from neuromfa.integrations.live import check_every

        check_every(live_every, "live_every")
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task(f"training ({preset})", total=None, note="loading corpus")

        def report(p: TrainProgress) -> None:
            note = bar.tasks[task].fields.get("note", "")
            if p.phase == "checkpoint":
                note = f"step {p.step}: val loss {p.val_loss:.3f}"
            elif p.phase == "cached":
                note = "reused the finished run"
            elif p.phase == "train" and note == "loading corpus":
                note = ""
            bar.update(task, total=p.total, completed=p.step, note=note)

        from neuromfa.training.train_example import train_example  # torch: only when used

        hook = None
        if live_every is not None:
            from neuromfa.integrations import LiveMFA

            def show(m: LiveMetrics) -> None:
                e = f"{m.E:+.4f}" if m.E is not None else "-"
                bar.console.print(f"live step {m.step}: alpha_0 {m.alpha0_mean:.4f}, width {m.width_mean:.4f}, "
                                  f"E {e} ({m.seconds:.2f} s)")

            hook = LiveMFA(live_every, on_metrics=show, name=f"{preset}-live", samples=3, k=32)
        info = train_example(out_dir, preset=preset, corpus=corpus, seed=seed, progress=report, overwrite=overwrite,
                             weight_decay=weight_decay, on_step=hook)
    _print_run(info)
    if hook is not None and info.cached:
        console.print("--live-every: nothing trained (the finished run was reused), so nothing was analysed live")
    how = "reused the finished run" if info.cached else f"trained in {info.seconds:.1f} s"
    console.print(f"{len(info.checkpoints)} checkpoints in {info.out_dir} ({how})")


def register(app: typer.Typer) -> None:
    app.command("train-example")(train_example_cmd)
