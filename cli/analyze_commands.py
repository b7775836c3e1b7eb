"""`neuromfa analyze`: queue one analysis job per stored graph and run them with a progress bar."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Optional, get_args

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from neuromfa import api
from neuromfa.base.errors import ConfigError
from neuromfa.base.limits import (
    MAX_K,
    MAX_NULL_SAMPLES,
    MAX_Q_ABS,
    MAX_Q_POINTS,
    MAX_SAMPLES,
    MAX_THRESHOLD,
    check_workers,
    max_workers,
)
from neuromfa.cli.console import console, err_console
from neuromfa.cli.output import WIDE_HELP, Format
from neuromfa.jobs.executors import EXECUTORS
from neuromfa.jobs.worker import JobOutcome
from neuromfa.schema.params import Band, NullModel, Structural
from neuromfa.schema.records import MODES


# typer's choices, with their values unpacked from the schema's Literals (defined there once;
# a value added there without a member here fails at import)
class ModeChoice(str, enum.Enum):
    one_hop, shortest_path, layered = MODES


class StructuralChoice(str, enum.Enum):
    traverse, drop = get_args(Structural)


class BandChoice(str, enum.Enum):
    absolute, relative = get_args(Band)


class NullChoice(str, enum.Enum):
    none, shuffle, gaussian = get_args(NullModel)


class ExecutorChoice(str, enum.Enum):
    local, ray = EXECUTORS


def analyze(
    path: Optional[Path] = typer.Argument(None, help="With --no-db: a checkpoint or a training-run folder to analyse straight from its files."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model name (as ingested). With --no-db: the name its graph ids (and null seeds) use, default the folder name."),
    step: Optional[list[int]] = typer.Option(None, "--step", help="Only this checkpoint step (repeatable). Default: every step."),
    sample: Optional[list[int]] = typer.Option(None, "--sample", help="Only this sample (repeatable). Default: every sample."),
    mode: Optional[ModeChoice] = typer.Option(None, "--mode", help="Box growing: one-hop (the authors' code), shortest-path (exact, igraph: the reference) or layered (the same masses bit for bit, min-plus over layers, several times faster).  \\[default: layered where the graphs are layer DAGs (every ingested topology), else shortest-path]"),
    threshold: Optional[float] = typer.Option(None, "--threshold", "-T", help=f"T: edges with 1 < d <= T are used; finite, 1 < T <= {MAX_THRESHOLD:,.0f}.  \\[default: 150]"),
    q_min: Optional[float] = typer.Option(None, "--q-min", help=f"Smallest q; |q| <= {MAX_Q_ABS:g}.  \\[default: -3]"),
    q_max: Optional[float] = typer.Option(None, "--q-max", help=f"Largest q; |q| <= {MAX_Q_ABS:g}.  \\[default: 3]"),
    q_step: Optional[float] = typer.Option(None, "--q-step", help=f"q grid step (the grid must contain 0 and hold at most {MAX_Q_POINTS} values).  \\[default: 0.1]"),
    min_mass: Optional[int] = typer.Option(None, "--min-mass", help="Eligible nodes have more than this many nodes within T.  \\[default: 10]"),
    filter_: Optional[int] = typer.Option(None, "--filter", help="Sample filter: 0 none, 1 f>0, 2 alpha edge, 3 both.  \\[default: 0]"),
    structural: Optional[StructuralChoice] = typer.Option(None, "--structural", help="qkv -> context edges in the path modes: traverse (d = 1) or drop.  \\[default: traverse]"),
    band: Optional[BandChoice] = typer.Option(None, "--band", help="absolute: the paper's band 1/T <= |w| < 1; relative: each weight block scaled to RMS 0.02 first (scale-free).  \\[default: absolute]"),
    null: Optional[NullChoice] = typer.Option(None, "--null", help="Null model analysed beside each graph: shuffle (weights permuted within each weight block) or gaussian (i.i.d. normal per block).  \\[default: none]"),
    null_samples: Optional[int] = typer.Option(None, "--null-samples", help=f"Null draws per graph, 2 to {MAX_NULL_SAMPLES}.  \\[default: 10]"),
    force: bool = typer.Option(False, "--force", help="Re-run graphs that already have a done analysis with these parameters (default: skip them)."),
    workers: int = typer.Option(1, "--workers", "-w", help=f"Jobs run at the same time (processes or Ray CPUs): 1 to {max_workers()} here (4 per CPU, at most 64)."),
    executor: ExecutorChoice = typer.Option(ExecutorChoice.local, "--executor", help="local: a process pool here; ray: Ray tasks (pip install 'neuromfa\\[ray]')."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Ray cluster to submit to (e.g. ray://HOST:10001 or auto). Default: a local Ray instance."),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Run the jobs now (default), or only queue them for `neuromfa worker`."),
    no_db: bool = typer.Option(False, "--no-db", help="Analyse PATH in this process, without the database, and print the results table."),
    samples: int = typer.Option(10, "--samples", help=f"With --no-db: samples per checkpoint, as ingest's (1 to {MAX_SAMPLES}); --sample picks sample numbers instead."),
    neurons: int = typer.Option(32, "--neurons", "-k", help=f"With --no-db: neurons per layer per sample (k), as ingest's: 1 to {MAX_K}."),
    seed_base: int = typer.Option(0, "--seed-base", help="With --no-db: sample s uses seed seed-base + s, as ingest's."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="With --no-db: output format of the results table."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="With --no-db: write the table to this file instead of the terminal."),
    wide: bool = typer.Option(False, "--wide", help=f"With --no-db: {WIDE_HELP}"),
) -> None:
    """Analyse stored graphs of a model: one job per graph, results written back to the database.
    With --no-db, analyse a checkpoint or run folder from its files and print the results table."""
    if no_db or path is not None:
        if not no_db:
            raise ConfigError(f"a PATH ({path}) is analysed only with --no-db", "add --no-db, or ingest it and pass --model")
        if path is None:
            raise ConfigError("--no-db analyses files: pass the checkpoint or run folder as PATH",
                              "e.g. neuromfa analyze ./run --no-db")
        _analyze_files(path, model, step, sample, samples, neurons, seed_base, fmt, out, wide, mode=mode.value if mode else None,
                       threshold=threshold, q_min=q_min, q_max=q_max, q_step=q_step, min_mass=min_mass, filter=filter_,
                       structural=structural.value if structural else None, band=band.value if band else None,
                       null=null.value if null else None, null_samples=null_samples)
        return
    if model is None:
        raise ConfigError("which model? pass --model NAME (as ingested)", "or analyse files without the database: PATH --no-db")
    check_workers(workers)  # the analysis parameters are checked by api.analyze, before the database
    progress = Progress(TextColumn("[bold]analysing[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[status]}"),
                        TimeElapsedColumn(), TimeRemainingColumn(), console=err_console, transient=False)
    state: dict = {"task": None, "counts": {}}

    def on_queued(report: api.AnalyzeReport) -> None:
        extra = f" ({len(report.reused)} already queued or running)" if report.reused else ""
        if report.skipped:
            extra += f"; skipped {len(report.skipped)} already analysed with these parameters (--force re-runs them)"
        p = report.params
        controls = (f", {p.band} band" if p.band != "absolute" else "") + \
            (f", {p.null} null x {p.null_samples}" if p.null != "none" else "")
        err_console.print(f"queued {len(report.jids)} job(s) for {model}{extra}: {p.mode}, T={p.threshold:g}{controls}")
        if wait and report.jids:
            progress.start()
            state["task"] = progress.add_task("analyse", total=len(report.jids), status="")

    def on_outcome(outcome: JobOutcome) -> None:
        counts = state["counts"]
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
        if state["task"] is not None:
            progress.update(state["task"], advance=1, status=", ".join(f"{v} {k}" for k, v in sorted(counts.items())))

    try:
        report = api.analyze(
            model, steps=step, samples=sample, mode=mode.value if mode else None, threshold=threshold, q_min=q_min, q_max=q_max,
            q_step=q_step, min_mass=min_mass, filter=filter_,
            structural=structural.value if structural else None, band=band.value if band else None,
            null=null.value if null else None, null_samples=null_samples, force=force, workers=workers, executor=executor.value,
            ray_address=ray_address, wait=wait, notify=err_console.print, on_queued=on_queued, on_outcome=on_outcome,
        )
    finally:
        if state["task"] is not None:
            progress.stop()
    if not wait:
        console.print(f"{len(report.jids)} job(s) queued; run them with `neuromfa worker` "
                      f"(see them with `neuromfa jobs list --status queued`)")
        return
    counts = report.counts()
    if report.skipped:
        counts["skipped (already analysed)"] = len(report.skipped)
    console.print(f"{model}: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
                  + f" in {report.seconds:.1f} s; see `neuromfa results --model {model}`")
    bad = [o for o in report.outcomes if o.status != "done"]
    for o in bad[:20]:
        err_console.print(f"  job {o.jid} ({o.graph}) {o.status}: {o.error or ''}")
    if len(bad) > 20:
        err_console.print(f"  ... and {len(bad) - 20} more (`neuromfa jobs list --status failed`)")
    if bad:
        raise typer.Exit(1)


def _analyze_files(path: Path, model: Optional[str], steps: Optional[list[int]], sample: Optional[list[int]], samples: int,
                   k: int, seed_base: int, fmt: Format, out: Optional[Path], wide: bool, **values: object) -> None:
    """`analyze PATH --no-db`: the results table of the files, as `results` prints it."""
    from neuromfa.cli.output import emit
    from neuromfa.cli.results_commands import RESULTS_DROP_FIRST, warn_poor_fits  # it imports this module
    from neuromfa.jobs.queue import parse_params
    from neuromfa.offline import analyze_files, default_name

    if values.get("null_samples") is not None and values.get("null") is None:
        raise ConfigError("--null-samples is set but no null model is chosen", "add --null shuffle or --null gaussian")
    params = parse_params(**{"mode": values.pop("mode") or "layered", **values})  # checked before any file is read
    name = model or default_name(path)
    df = analyze_files(path, name=name, steps=steps, samples=sample or samples, k=k, seed_base=seed_base, params=params)
    if fmt is Format.table:
        df = df.drop(columns=["aid", "params"], errors="ignore")  # long ids: in json/csv only
    warn_poor_fits(df, "analyses")
    emit(df, fmt, title=f"results of {name} (from files, no database)", out=out, wide=wide, drop_first=RESULTS_DROP_FIRST)


def register(app: typer.Typer) -> None:
    app.command("analyze")(analyze)
