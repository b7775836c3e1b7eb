"""Deleting a model: `neuromfa delete model` (DeleteRepository: one transaction per graph, nodes by
element id in batches) against the plain DETACH DELETE statements a user would write by hand,
in the same run, on the same data.

Two identical models are stored in a fresh database of the local server: N Pythia-160M-shaped
graphs each (benchmarks/analysis/synth.py: hidden 768, 12 blocks, k = 32, about 123,000
synapses), every graph with one one-hop analysis (one MEASURED edge per neuron) and one queued
job. One model is deleted each way; every round stores the data again and the order of the two
deletes alternates, so neither always runs first. Untimed warm-up rounds come first. After each
delete nothing of the model may be left (checked). Reported: the median over the timed rounds.

    python benchmarks/store/bench_delete.py [--graphs 2] [--rounds 3] [--warmup 1] [--keep]

Uses the local server of NEUROMFA_HOME (started if needed); NEO4J_URI must not be set.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The baseline: the hand-written deletes of a model, each statement in its own transaction.
PLAIN = [
    "MATCH (g:Graph {model: $m}) MATCH (n:Neuron {graph: g.gid}) DETACH DELETE n",
    "MATCH (a:Analysis) WHERE a.graph STARTS WITH $p DETACH DELETE a",
    "MATCH (j:Job) WHERE j.graph STARTS WITH $p DELETE j",
    "MATCH (g:Graph {model: $m}) DETACH DELETE g",
    "MATCH (c:Checkpoint {model: $m}) DETACH DELETE c",
    "MATCH (m:Model {name: $m}) DETACH DELETE m",
]
LEFT = "MATCH (n) WHERE n.name = $m OR n.model = $m OR n.graph STARTS WITH $p RETURN count(n) AS n"


def _synth():
    spec = importlib.util.spec_from_file_location("neuromfa_bench_synth", ROOT / "benchmarks" / "analysis" / "synth.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def store_model(store, model: str, snins, analyses) -> int:
    """The graphs of ``model`` with their analyses and one queued job each; returns synapses written."""
    from neuromfa.jobs.queue import enqueue
    from neuromfa.jobs.writeback import analysis_record, measured_rows
    from neuromfa.schema.params import AnalysisParams
    from neuromfa.schema.records import CheckpointRecord, GraphRecord, ModelRecord, graph_id
    from neuromfa.store.analyses import AnalysisRepository
    from neuromfa.store.graphs import GraphRepository

    params = AnalysisParams(mode="one-hop")
    rec = ModelRecord(name=model, arch="gpt_neox", hidden=768, blocks=12, params=0, source="synthetic")
    gids, edges = [], 0
    for step, (snin, out) in enumerate(zip(snins, analyses)):
        gid = graph_id(model, step, 0, 32)
        GraphRepository(store).write(CheckpointRecord(model=model, step=step),
                                     GraphRecord(gid=gid, model=model, step=step, sample=0, seed=0, k=32,
                                                 nodes=snin.n_nodes, edges=snin.n_edges), snin, model=rec)
        AnalysisRepository(store).write_back(analysis_record(gid, params, out), measured_rows(snin, gid, out))
        gids.append(gid)
        edges += snin.n_edges
    enqueue(store, gids, AnalysisParams(mode="one-hop", threshold=50.0))
    return edges


def delete_neuromfa(store, model: str) -> float:
    from neuromfa.store.deletes import DeleteRepository

    t = time.perf_counter()
    DeleteRepository(store).delete_model(model)
    return time.perf_counter() - t


def delete_plain(store, model: str) -> float:
    t = time.perf_counter()
    for statement in PLAIN:
        store.write(statement, m=model, p=f"{model}@")
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--graphs", type=int, default=2, help="graphs per model")
    ap.add_argument("--rounds", type=int, default=3, help="timed store-and-delete rounds (the order alternates)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed rounds first (the server's JIT warms up: "
                                                          "a first delete ran 2-4x slower here)")
    ap.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = ap.parse_args()
    if os.environ.get("NEO4J_URI"):
        sys.exit("unset NEO4J_URI: this benchmark creates a fresh database on the local server")

    from neuromfa.analysis.engine import analyze_snin
    from neuromfa.schema.params import AnalysisParams
    from neuromfa.store.connection import connect
    from neuromfa.store.server import LocalServer

    sys.path.insert(0, str(ROOT / "tests"))
    from arcade_admin import DatabaseAdmin  # the tests' database admin: test support, not shipped

    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    synth = _synth()
    snins = [synth.pythia_like_snin(768, 12, 32, seed=s) for s in range(args.graphs)]
    for s in snins:
        s.meta.update(arch="gpt_neox", hidden=768, blocks=12, params=0, source="synthetic")
    analyses = [analyze_snin(s, AnalysisParams(mode="one-hop")) for s in snins]
    server = LocalServer()
    server.start()
    admin = DatabaseAdmin.of(server)
    name = f"bench_delete_{uuid.uuid4().hex[:8]}"
    admin.create_database(name)
    times: dict[str, list[float]] = {"neuromfa": [], "plain": []}
    try:
        with connect(server.uri, server.username, server.password(), name) as store:
            store.apply_schema()
            for r in range(-args.warmup, args.rounds):
                t = time.perf_counter()
                edges = sum(store_model(store, m, snins, analyses) for m in ("fast", "plain"))
                print(f"{'warm-up' if r < 0 else f'round {r + 1}'}: stored 2 models x {args.graphs} graphs, {edges:,} synapses "
                      f"({time.perf_counter() - t:.1f} s)", flush=True)
                order = [("neuromfa", "fast", delete_neuromfa), ("plain", "plain", delete_plain)]
                for label, model, fn in (order if r % 2 == 0 else order[::-1]):
                    dt = fn(store, model)
                    left = store.read(LEFT, m=model, p=f"{model}@")[0]["n"]
                    assert left == 0, f"{label}: {left} nodes of {model} left"
                    if r >= 0:
                        times[label].append(dt)
                    print(f"  {label:>9}: {dt:6.2f} s ({edges / 2 / dt:,.0f} synapses/s)", flush=True)
    finally:
        if not args.keep:
            admin.drop_database(name)
    fast, plain = statistics.median(times["neuromfa"]), statistics.median(times["plain"])
    print(f"median over {args.rounds} round(s), {args.graphs} graphs of {snins[0].n_edges:,} synapses per model: "
          f"neuromfa delete {fast:.2f} s, plain DETACH DELETE {plain:.2f} s ({plain / fast:.1f}x)")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
