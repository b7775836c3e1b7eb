"""`neuromfa ingest PATH` and `neuromfa graphs`."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from neuromfa.base.limits import MAX_K, MAX_SAMPLES
from neuromfa.cli.common import cli_store, err_console
from neuromfa.cli.output import WIDE_HELP, Format, emit
from neuromfa.ingest.pipeline import IngestReport, check_ingest, ingest_path
from neuromfa.ingest.scope import make_scope
from neuromfa.schema.layers import KINDS
from neuromfa.schema.records import TOPOLOGIES
from neuromfa.store.graphs import GraphRepository


class TopologyChoice(str, enum.Enum):
    # unpacked from the schema's Literal: a topology added there without a member here fails at import
    reference, faithful = TOPOLOGIES


def ingest(
    path: Path = typer.Argument(..., help="A transformers model directory, a GGUF file, or a training-run "
                                         "directory of stepN / checkpoint-N folders."),
    name: str = typer.Option(..., "--name", help="Model name the graphs are stored under."),
    step: Optional[int] = typer.Option(None, "--step", help="Training step of a single model "
                                       "(default 0); in a run directory: only this step."),
    samples: int = typer.Option(10, "--samples", help=f"Number of samples (seeds seed-base .. seed-base+S-1): 1 to {MAX_SAMPLES}."),
    neurons: int = typer.Option(32, "--neurons", "-k", help=f"Neurons per layer per sample (k): 1 to {MAX_K}, and at most what the model's layers hold."),
    seed_base: int = typer.Option(0, "--seed-base", help="Seed of sample 0 (seeds stay below 2**32)."),
    topology: TopologyChoice = typer.Option(TopologyChoice.reference, "--topology", help="reference: the authors' reading "
                                            "(fused qkv as [Q; K; V], no residuals); faithful: per-head qkv rows and "
                                            "attention, residual identity edges. One topology per model name."),
    baselines: bool = typer.Option(True, "--baselines/--no-baselines", help="Store each checkpoint's weight-scale "
                                   "baselines (log_rms, log_norm, log_spectral_norm; every matrix read whole)."),
    peers: bool = typer.Option(False, "--peers", help="Also store WeightWatcher's alpha, alpha_weighted and log_norm "
                               "(needs the peers extra: pip install 'neuromfa[peers]')."),
    blocks: Optional[str] = typer.Option(None, "--blocks", help="Only these blocks, e.g. 0-5 or 3 (and the stream "
                                         "the last one writes into). Part of the graph id; one per model name."),
    kinds: Optional[str] = typer.Option(None, "--kinds", help=f"Only these layer kinds, comma-separated, of: "
                                        f"{', '.join(KINDS)}. Edges to a dropped kind are dropped."),
) -> None:
    """Sample neuron interaction networks from a model or a training run and store them."""
    check_ingest(name, samples, neurons, seed_base, topology.value)  # before the server is started
    scope = make_scope(blocks, kinds)
    if peers:
        from neuromfa.ingest.peers import check_peers

        check_peers()
    with cli_store() as store, Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err_console, transient=True,
    ) as progress:
        graphs = progress.add_task("graphs", total=None)
        edges = progress.add_task("synapses written", total=None)

        def on_checkpoints(refs):
            progress.update(graphs, total=len(refs) * samples)

        report = ingest_path(
            store, path, name=name, step=step, samples=samples, k=neurons, seed_base=seed_base,
            topology=topology.value, baselines=baselines, peers=peers, scope=scope, on_checkpoints=on_checkpoints,
            on_graph=lambda gid, written: progress.advance(graphs),
            on_edges=lambda n: progress.advance(edges, n),
        )
    print_report(report)


def print_report(report: IngestReport) -> None:
    """The warnings, one line each, then the summary line."""
    for line in report.warnings:
        err_console.print(f"warning: {line}")
    rate = report.edges_written / report.seconds if report.seconds else 0.0
    err_console.print(
        f"{report.model}: {report.checkpoints} checkpoint(s), {report.graphs_written} graph(s) written, "
        f"{report.graphs_present} already stored, {report.edges_written} synapses in {report.seconds:.1f} s"
        + (f" ({rate:,.0f} synapses/s)" if report.edges_written else "")
        + (f"; baselines of {report.baselines_written} checkpoint(s) in {report.seconds_baselines:.1f} s"
           if report.baselines_written else "")
        + (f"; WeightWatcher metrics of {report.peers_written} checkpoint(s) in {report.seconds_peers:.1f} s"
           if report.peers_written else "")
        # last: what was skipped
        + (f"; {report.zero_weights} zero weight{'s' * (report.zero_weights != 1)} skipped (no edge)"
           if report.zero_weights else "")
    )


def graphs(
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Only graphs of this model."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write to this file instead of the terminal."),
    wide: bool = typer.Option(False, "--wide", help=WIDE_HELP),
) -> None:
    """List stored graphs (one row per sampled network)."""
    with cli_store() as store:
        rows = [g.model_dump() for g in GraphRepository(store).list_graphs(model)]
    # the gid names model, step, sample, k and topology: at 80 columns it and the sizes stay
    emit(rows, fmt, title="stored graphs", out=out, wide=wide,
         drop_first=["created", "seed", "model", "topology", "k", "sample", "step"])


def register(app: typer.Typer) -> None:
    app.command()(ingest)
    app.command()(graphs)
