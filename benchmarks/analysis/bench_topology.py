"""What the faithful topology changes: the demo's training run analysed in both topologies.

    python benchmarks/analysis/bench_topology.py [--run neuromfa-demo/run] [--samples 3] [--k 32]
        [--null-samples 5] [--mode layered] [--band absolute]

For every checkpoint of the run (trained with the demo's tiny preset into ``--run`` when it is
not there yet; ``neuromfa demo`` leaves it in neuromfa-demo/run) and every sample, the same
neurons are wired in the reference and the faithful topology (ingest/build.py) and analysed
like the demo's headline analysis: path masses (layered mode) in the paper's band beside the
shuffle null. No database: the graphs are built and analysed in memory, as ingest and the
workers would. Prints per topology the table of alpha_0, width and E with their null columns,
the Spearman correlation of E, E_null and E_struct with validation loss, the graphs' sizes,
and a check that layered and shortest-path masses are identical on the faithful graphs of the
last step.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from common import machine

from neuromfa.analysis.emergence import emergence, spearman_with, summarize_checkpoints
from neuromfa.analysis.engine import analyze_snin, box_hist
from neuromfa.analysis.results import SampleValue
from neuromfa.ingest.build import snin_for_checkpoint
from neuromfa.ingest.checkpoints import discover_checkpoints
from neuromfa.schema.layers import KIND_CODE
from neuromfa.schema.params import AnalysisParams
from neuromfa.schema.records import TOPOLOGIES, graph_id
from neuromfa.schema.snin import SNIN
from neuromfa.training.train_example import train_example

DEMO_MODEL = "demo-tiny"  # the model name of neuromfa demo's tiny preset


def graph_sizes(g: SNIN) -> dict[str, int]:
    qkv_ctx = (g.kind[g.src] == KIND_CODE["qkv"]) & (g.kind[g.dst] == KIND_CODE["context"])
    return {"nodes": g.n_nodes, "edges": g.n_edges, "learned": int((~g.structural).sum()),
            "attention": int(qkv_ctx.sum()), "residual": int((g.structural & ~qkv_ctx).sum())}


def model_name(topology: str) -> str:
    """The model names ``neuromfa demo`` (reference) and an ingest of the run under a second name
    (faithful: one topology per model name) would use. A graph's id seeds its null draws; the
    real columns equal the demo's, the null draws differ from the stored graphs' (a shuffle
    permutes edges in their order, and a pulled graph lists them in the database's order)."""
    return DEMO_MODEL if topology == "reference" else f"{DEMO_MODEL}-{topology}"


def topology_table(refs, topology: str, samples: int, k: int, params: AnalysisParams) -> tuple[pd.DataFrame, dict]:
    rows, sizes = [], []
    for ref in refs:
        for s in range(samples):
            gid = graph_id(model_name(topology), ref.step, s, k, topology)
            g = snin_for_checkpoint(ref.path, sample=s, k=k, topology=topology, gid=gid)
            sizes.append(graph_sizes(g))
            out = analyze_snin(g, params)
            null = out.null
            rows.append(SampleValue(step=ref.step, sample=s, alpha0=out.spectrum.alpha0, width=out.spectrum.width,
                                    passed_filter=out.spectrum.passed_filter,
                                    null_alpha0_mean=null.alpha0_mean if null else None,
                                    null_width_mean=null.width_mean if null else None,
                                    alpha0_z=null.alpha0_z if null else None, width_z=null.width_z if null else None))
    summaries = summarize_checkpoints(rows)
    points = {p.step: p for p in emergence(summaries)}
    loss = {ref.step: ref.metrics.get("val_loss") for ref in refs}
    table = pd.DataFrame([{
        "step": c.step, "val_loss": loss[c.step], "alpha0": c.alpha0_mean, "alpha0_std": c.alpha0_std,
        "alpha0_null": c.alpha0_null, "alpha0_z": c.alpha0_z, "width": c.width_mean, "width_std": c.width_std,
        "width_null": c.width_null, "width_z": c.width_z, "E": points[c.step].E, "E_mean": points[c.step].E_mean,
        "E_null": points[c.step].E_null, "E_struct": points[c.step].E_struct,
    } for c in summaries])
    mean_sizes = {key: float(np.mean([sz[key] for sz in sizes])) for key in sizes[0]}
    return table, mean_sizes


def fmt(v: float | None, spec: str) -> str:
    return "-" if v is None or (isinstance(v, float) and np.isnan(v)) else format(v, spec)


def print_table(topology: str, table: pd.DataFrame, sizes: dict) -> None:
    print(f"\n{topology} topology: per graph {sizes['nodes']:.0f} nodes, {sizes['edges']:.0f} edges "
          f"({sizes['learned']:.0f} learned, {sizes['attention']:.0f} qkv -> context, {sizes['residual']:.0f} residual)")
    print("| step | val loss | alpha_0 | alpha_0 null | alpha_0 z | width | width null | width z | E | E_null | E_struct |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in table.itertuples():
        print(f"| {r.step} | {fmt(r.val_loss, '.3f')} | {r.alpha0:.4f} ± {r.alpha0_std:.4f} | {fmt(r.alpha0_null, '.4f')} | "
              f"{fmt(r.alpha0_z, '+.1f')} | {r.width:.4f} ± {r.width_std:.4f} | {fmt(r.width_null, '.4f')} | "
              f"{fmt(r.width_z, '+.1f')} | {r.E:.4f} | {fmt(r.E_null, '.4f')} | {fmt(r.E_struct, '+.4f')} |")


def spearman_line(topology: str, table: pd.DataFrame) -> str:
    parts = []
    for column in ("E_mean", "E_null", "E_struct"):
        got = spearman_with(table, column=column)
        parts.append(f"{column} {got[0]:+.3f} (p = {got[1]:.2g})" if got else f"{column} -")
    return f"  {topology}: Spearman with val loss: " + ", ".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", type=Path, default=Path("neuromfa-demo/run"), help="the demo's training run (trained here if missing)")
    ap.add_argument("--samples", type=int, default=3)
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--null-samples", type=int, default=5)
    ap.add_argument("--mode", default="layered", choices=["layered", "shortest-path", "one-hop"])
    ap.add_argument("--band", default="absolute", choices=["absolute", "relative"])
    args = ap.parse_args()
    print(f"machine: {machine()}")
    run = train_example(args.run, preset="tiny")  # cached: reuses a complete run
    refs = discover_checkpoints(run.out_dir)
    params = AnalysisParams(mode=args.mode, band=args.band, null="shuffle", null_samples=args.null_samples)
    print(f"run {run.out_dir}: {len(refs)} checkpoints, {args.samples} samples of k = {args.k}; {params.mode} mode, "
          f"{params.band} band, {params.null_samples} {params.null} null draws per graph")
    tables = {}
    for topology in TOPOLOGIES:
        t = time.perf_counter()
        tables[topology], sizes = topology_table(refs, topology, args.samples, args.k, params)
        print_table(topology, tables[topology], sizes)
        print(f"({time.perf_counter() - t:.0f} s)")
    print("\nemergence against validation loss:")
    for topology, table in tables.items():
        print(spearman_line(topology, table))
    last = tables["reference"].iloc[-1], tables["faithful"].iloc[-1]
    print(f"  last step: E {last[0].E:.4f} (reference) vs {last[1].E:.4f} (faithful); "
          f"E_struct {last[0].E_struct:+.4f} vs {last[1].E_struct:+.4f}")
    exact = AnalysisParams(mode="shortest-path")
    same = all(np.array_equal(box_hist(g, exact)[0], box_hist(g, exact.model_copy(update={"mode": "layered"}), device="cpu")[0])
               for g in (snin_for_checkpoint(refs[-1].path, sample=s, k=args.k, topology="faithful") for s in range(args.samples)))
    print(f"layered == shortest-path masses on the faithful graphs of step {refs[-1].step}: {same}")
    if not same:
        raise SystemExit("layered and shortest-path masses differ on a faithful graph")


if __name__ == "__main__":
    main()
