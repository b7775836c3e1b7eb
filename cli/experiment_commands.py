"""`neuromfa experiment NAME`: experiments where the scale of the weights and the network's
function part ways."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from neuromfa.base.errors import ConfigError
from neuromfa.base.limits import MAX_K, MAX_SAMPLES, check_neurons, check_samples, check_workers
from neuromfa.cli.common import cli_store, err_console
from neuromfa.cli.console import console
from neuromfa.cli.output import Format, emit

experiment_app = typer.Typer(help="Experiments where weight scale and function part ways.", no_args_is_help=True)

MAX_FACTOR = 1e3
MAX_FACTORS = 20  # each factor saves a copy of the checkpoint and analyses it


def _factors(text: str) -> list[float]:
    try:
        values = [eval_fraction(v) for v in text.split(",")]
    except (ValueError, ZeroDivisionError):
        raise ConfigError(f"--factors {text!r} is not a comma-separated list of numbers",
                          "e.g. --factors 1/3,1/2,2,3") from None
    if any(not (1 / MAX_FACTOR <= v <= MAX_FACTOR) for v in values):
        raise ConfigError(f"--factors {text!r}: each factor must lie in [{1 / MAX_FACTOR:g}, {MAX_FACTOR:g}]",
                          "e.g. --factors 1/3,1/2,2,3")
    if len(set(values)) < len(values) or len(values) > MAX_FACTORS:
        raise ConfigError(f"--factors {text!r}: give at most {MAX_FACTORS} factors, each once",
                          "e.g. --factors 1/3,1/2,2,3")
    return values


def eval_fraction(text: str) -> float:
    """'1/3' -> 0.333..., '2' -> 2.0 (parsed, never evaluated)."""
    num, slash, den = text.strip().partition("/")
    return float(num) / float(den) if slash else float(num)


@experiment_app.command("reparam")
def reparam(
    path: Path = typer.Argument(..., help="A checkpoint folder (transformers: config.json + weights)."),
    factors: str = typer.Option("1/3,1/2,2,3", "--factors", help=f"Rescaling factors c, comma-separated, each in [{1 / MAX_FACTOR:g}, {MAX_FACTOR:g}]."),
    samples: int = typer.Option(3, "--samples", help=f"Samples (SNINs) per checkpoint: 1 to {MAX_SAMPLES}."),
    neurons: int = typer.Option(32, "--neurons", "-k", help=f"Neurons per layer per sample: 1 to {MAX_K}."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write to this file instead of the terminal."),
) -> None:
    """Function-preserving rescalings of one checkpoint (per head Q x c, K x 1/c, V x c, output
    projection x 1/c): the logit difference, and alpha_0 / width before and after, per mode and band."""
    values = _factors(factors)
    check_samples(samples)
    check_neurons(neurons)
    from neuromfa.experiments.reparam import reparam as run

    err_console.print(f"rescaling {path} by {', '.join(f'{v:g}' for v in values)} and analysing {samples} samples each")
    rows = run(path, factors=values, samples=samples, k=neurons)
    emit([r.model_dump() for r in rows], fmt, title=f"reparam of {path}", out=out)


def _seconds(seconds: dict[str, float]) -> str:
    return ", ".join(f"{name} {v:.0f} s" for name, v in seconds.items()) + f"; total {sum(seconds.values()):.0f} s"


# what a terminal table shows of a step row (--format json has every column, at full precision)
SHOWN = ("analysis", "weight_decay", "seed", "step", "val_loss", "alpha0_mean", "width_mean", "E", "E_null", "E_struct", "log_rms")


def _compact(rows: list[dict]) -> list[dict]:
    return [{k: round(r[k], 4) if isinstance(r[k], float) else r[k] for k in SHOWN if k in r} for r in rows]


def _print_tables(report, fmt: Format, out: Optional[Path], title: str) -> None:
    """JSON: the whole report as one document. Otherwise each step table, then the validity table."""
    if fmt == Format.json:
        text = report.model_dump_json(indent=2)
        if out is not None:
            out.write_text(text + "\n")
        else:
            console.print(text, markup=False)
        return
    if fmt != Format.table:
        raise ConfigError(f"--format {fmt.value} is not offered here: the experiment prints several tables",
                          "use --format table or --format json")
    for table in report.tables:
        emit(_compact(table.rows), fmt, title=f"{title}: model {table.model}, {table.analysis} ({table.mode} mode, {table.band} band)")
    extra = getattr(report, "final", None)
    if extra:
        emit(_compact(extra), fmt, title=f"{title}: the last step of every run")
    v = report.validity
    emit(v.frame(), fmt, title=f"{title}: every quantity against validation loss (Spearman rho with {v.against} over "
         f"{v.n_checkpoints} checkpoints of {len(v.models)} model(s); partial rho given {v.control})")
    for note in v.notes:
        err_console.print(f"note: {note}")
    err_console.print(f"seconds: {_seconds(report.seconds)}")


def _stored_progress():
    """A progress display for training, ingest and the analysis jobs (on stderr)."""
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err_console)


def _bar_of(progress: Progress) -> Callable[..., TaskID]:
    """bar(name, total=None): the task of that name, added on first use."""
    bars: dict[str, TaskID] = {}

    def bar(name: str, total: float | None = None) -> TaskID:
        if name not in bars:
            bars[name] = progress.add_task(name, total=total)
        return bars[name]

    return bar


@experiment_app.command("degrade")
def degrade(
    out_dir: Path = typer.Option(Path("neuromfa-experiments/degrade"), "--out-dir", help="Folder for the continued run."),
    base: Path = typer.Option(Path("neuromfa-demo/run"), "--base", help="The base run (the demo's; trained here when absent)."),
    preset: str = typer.Option("tiny", "--preset", help="Preset of the base run: tiny or small."),
    corruption: str = typer.Option("random", "--corruption", help="What the run goes on to learn: random (uniform bytes) or shuffle (the corpus's bytes, permuted)."),
    corrupt_steps: int = typer.Option(256, "--corrupt-steps", help="Optimizer steps on the corrupted corpus."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Learning rate on the corrupted corpus (constant after 10 warm-up steps; default 3e-4, where the tiny run ended)."),
    samples: int = typer.Option(3, "--samples", help=f"Samples (SNINs) per checkpoint: 1 to {MAX_SAMPLES}."),
    neurons: int = typer.Option(32, "--neurons", "-k", help=f"Neurons per layer per sample: 1 to {MAX_K}."),
    workers: int = typer.Option(2, "--workers", help="Analysis worker processes."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format: table or json (the whole report)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="With --format json: write to this file."),
) -> None:
    """Continue the demo's last checkpoint on corrupted bytes (validation stays on the real
    corpus), store the whole history as one model, analyse it like the demo: does E fall with quality?"""
    from neuromfa.experiments.degrade import check_degrade, run_degrade

    check_degrade(corruption, corrupt_steps, lr)
    check_samples(samples)
    check_neurons(neurons)
    check_workers(workers)

    with cli_store() as store, _stored_progress() as progress:
        bar = _bar_of(progress)

        report = run_degrade(
            store, out_dir, base=base, preset=preset, corruption=corruption, corrupt_steps=corrupt_steps,  # type: ignore[arg-type]
            lr=lr, samples=samples, k=neurons, workers=workers,
            stage=lambda msg: progress.console.print(f"> {msg}"),
            train_progress=lambda p: progress.update(bar("train", p.total), completed=p.step, total=p.total),
            on_graph=lambda gid, written: progress.advance(bar("ingest graphs")),
            on_outcome=lambda o: progress.advance(bar("analysis jobs")),
        )
    _print_tables(report, fmt, out, f"degrade ({corruption} bytes from step {report.base_step})")


def _list(text: str, what: str, cast, example: str) -> list:
    try:
        return [cast(v) for v in text.split(",")]
    except ValueError:
        raise ConfigError(f"--{what} {text!r} is not a comma-separated list", f"e.g. --{what} {example}") from None


@experiment_app.command("decay")
def decay(
    out_dir: Path = typer.Option(Path("neuromfa-experiments/decay"), "--out-dir", help="Folder for the runs (one subfolder each)."),
    preset: str = typer.Option("tiny", "--preset", help="Preset of every run: tiny or small."),
    decays: str = typer.Option("0,0.1,1", "--decays", help="AdamW weight decays, comma-separated."),
    seeds: str = typer.Option("0,1", "--seeds", help="Seeds, comma-separated: one run per decay and seed."),
    steps: Optional[list[int]] = typer.Option(None, "--step", help="Checkpoints stored per run (repeatable; default 0, 128, 512, 1000)."),
    samples: int = typer.Option(2, "--samples", help=f"Samples (SNINs) per checkpoint: 1 to {MAX_SAMPLES}."),
    neurons: int = typer.Option(32, "--neurons", "-k", help=f"Neurons per layer per sample: 1 to {MAX_K}."),
    workers: int = typer.Option(2, "--workers", help="Training and analysis processes."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format: table or json (the whole report)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="With --format json: write to this file."),
) -> None:
    """Train the preset to its end with several weight decays and seeds (one model per run) and
    analyse them like the demo: does E order the runs by quality or by weight scale?"""
    wds = _list(decays, "decays", float, "0,0.1,1")
    sds = _list(seeds, "seeds", int, "0,1")
    check_samples(samples)
    check_neurons(neurons)
    check_workers(workers)
    from neuromfa.experiments.decay import STEPS, check_decay, run_decay

    check_decay(preset, wds, sds, steps or STEPS)
    with cli_store() as store, _stored_progress() as progress:
        bar = _bar_of(progress)

        report = run_decay(
            store, out_dir, preset=preset, decays=wds, seeds=sds, steps=steps or STEPS, samples=samples, k=neurons,
            workers=workers, stage=lambda msg: progress.console.print(f"> {msg}"),
            on_run=lambda r: progress.advance(bar("training runs", len(wds) * len(sds))),
            on_graph=lambda gid, written: progress.advance(bar("ingest graphs")),
            on_outcome=lambda o: progress.advance(bar("analysis jobs")),
        )
    _print_tables(report, fmt, out, "decay")


def register(app: typer.Typer) -> None:
    app.add_typer(experiment_app, name="experiment")
