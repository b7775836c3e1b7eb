"""Analysis jobs on stored graphs: graphs analysed per minute with the local executor, 1 vs 2
workers, the time split between pulling from the database, computing and writing back, and
the edges per second read from the server when pulling a SNIN (target >= 150,000).

A training-run-shaped set of checkpoints is built offline once (a tiny GPT-NeoX, fixed seeds:
step s = the step-0 weights plus a seeded perturbation growing with s), ingested into a fresh
database of each server in turn, then analysed twice (1 worker, then 2 workers; the analyses and
jobs of the first run are deleted in between so both runs do the same work). The last lines are
one row per server.

    python benchmarks/jobs/bench_jobs.py [--checkpoints 20] [--samples 3] [--blocks 6] [--hidden 128]
                                         [--k 32] [--mode shortest-path] [--null-samples N]
                                         [--keep | --database NAME] [--servers arcadedb,neo4j]

Servers (benchmarks/servers.py): the local ArcadeDB of NEUROMFA_HOME (started if needed) and a
local Neo4j of its own; NEO4J_URI must not be set. --keep/--database apply to ArcadeDB only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

# Benchmark-only: between the 1- and 2-worker runs every analysis and job of the fresh database goes.
RESET_ANALYSES = "MATCH (a:Analysis) DETACH DELETE a"
RESET_JOBS = "MATCH (j:Job) DELETE j"

BUILD_RUN = r"""
import json, sys, torch
from pathlib import Path
from transformers import GPTNeoXConfig, GPTNeoXForCausalLM
out, n, blocks, hidden = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.manual_seed(0)
cfg = GPTNeoXConfig(hidden_size=hidden, num_hidden_layers=blocks, num_attention_heads=4,
                    intermediate_size=4 * hidden, vocab_size=256, max_position_embeddings=64,
                    initializer_range=0.02)
model = GPTNeoXForCausalLM(cfg)
base = {k: v.clone() for k, v in model.state_dict().items()}
for i in range(n):
    step = 0 if i == 0 else 2 ** (i - 1)  # Pythia-like log spacing 0, 1, 2, 4, ...
    g = torch.Generator().manual_seed(1000 + i)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim == 2:
                p.copy_(base[name] * (1 + 0.03 * i) + 0.002 * i * torch.randn(p.shape, generator=g))
    model.save_pretrained(out / f"step{step}")
"""


def build_run(root: Path, n: int, blocks: int, hidden: int) -> Path:
    run = root / f"neox-b{blocks}-h{hidden}-n{n}"
    if not (run / "done").exists():
        subprocess.run([sys.executable, "-c", BUILD_RUN, str(run), str(n), str(blocks), str(hidden)], check=True)
        (run / "done").touch()
    return run


def fmt_run(label: str, report, wall: float) -> dict:
    outs = report.outcomes
    pull = sum(o.seconds_pull for o in outs)
    comp = sum(o.seconds_compute for o in outs)
    write = sum(o.seconds_write for o in outs)
    edges = sum(o.edges for o in outs)
    busy = pull + comp + write
    row = {
        "run": label, "graphs": len(outs), "done": sum(o.status == "done" for o in outs), "wall_s": wall,
        "graphs_per_min": 60 * len(outs) / wall, "pull_s": pull, "compute_s": comp, "write_s": write,
        "pull_pct": 100 * pull / busy, "compute_pct": 100 * comp / busy, "write_pct": 100 * write / busy,
        "pull_edges_per_s": edges / pull if pull else float("nan"),
    }
    print(f"{label:>10}: {row['done']}/{row['graphs']} done in {wall:6.1f} s = {row['graphs_per_min']:6.1f} graphs/min | "
          f"pull {pull:6.1f} s ({row['pull_pct']:4.1f}%), compute {comp:6.1f} s ({row['compute_pct']:4.1f}%), "
          f"write-back {write:6.1f} s ({row['write_pct']:4.1f}%) | pull {row['pull_edges_per_s']:,.0f} edges/s", flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoints", type=int, default=20)
    ap.add_argument("--samples", type=int, default=3)
    ap.add_argument("--blocks", type=int, default=6)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--mode", default="shortest-path", choices=["one-hop", "shortest-path", "layered"])
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "neuromfa-bench-jobs")
    ap.add_argument("--null-samples", type=int, default=0,
                    help="also run 1 worker with a shuffle null of this many draws per graph")
    ap.add_argument("--keep", action="store_true", help="keep the benchmark database")
    ap.add_argument("--database", help="use (and keep) this database; graphs already in it are not ingested again")
    ap.add_argument("--servers", default="arcadedb,neo4j", help="local servers to run on, in turn")
    args = ap.parse_args()
    if os.environ.get("NEO4J_URI"):
        sys.exit("unset NEO4J_URI: this benchmark creates a fresh database on the local server")

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from servers import bench_server, server_list

    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    t = time.perf_counter()
    run = build_run(args.cache, args.checkpoints, args.blocks, args.hidden)
    print(f"checkpoints: {run} ({args.checkpoints} x GPT-NeoX hidden {args.hidden}, {args.blocks} blocks; "
          f"{time.perf_counter() - t:.1f} s)", flush=True)

    summary = []
    for name in server_list(args.servers):
        print(f"\n== {name} ==", flush=True)
        keep = (args.database or (f"bench_jobs_{uuid.uuid4().hex[:8]}" if args.keep else None)
                if name == "arcadedb" else None)
        with bench_server(name) as server, server.fresh(keep) as settings:
            summary.append((name, one_server(args, run, settings)))
    print(f"\n{'server':9} {'ingest edges/s':>15} {'pull edges/s':>13} {'1 worker graphs/min':>20} "
          f"{'2 workers graphs/min':>21} {'speedup':>8}")
    for name, r in summary:
        print(f"{name:9} {r['ingest']:15,.0f} {r['pull']:13,.0f} {r['rows'][0]['graphs_per_min']:20.1f} "
              f"{r['rows'][1]['graphs_per_min']:21.1f} {r['speedup']:7.2f}x")


def one_server(args, run: Path, settings) -> dict:
    from neuromfa import api
    from neuromfa.ingest.pipeline import ingest_path
    from neuromfa.store.connection import connect
    from neuromfa.store.graphs import GraphRepository

    model = "bench-neox"
    ingest_rate = float("nan")
    with connect(settings.uri, settings.username, settings.password, settings.database) as store:
        store.apply_schema()
        t = time.perf_counter()
        ing = ingest_path(store, run, name=model, samples=args.samples, k=args.k)
        dt = time.perf_counter() - t
        if ing.graphs_written:
            ingest_rate = ing.edges_written / dt
            print(f"ingest: {ing.graphs_written} graphs, {ing.edges_written:,} edges in {dt:.1f} s "
                  f"({ing.edges_written / dt:,.0f} edges/s)", flush=True)
        else:
            print(f"ingest: all {ing.graphs_present} graphs already stored in {settings.database}", flush=True)

        graphs = GraphRepository(store)
        gids = sorted(g.gid for g in graphs.list_graphs(model))
        rates, edges, total = [], 0, 0.0
        for gid in gids:
            t = time.perf_counter()
            n = graphs.pull(gid).n_edges
            dt = time.perf_counter() - t
            rates.append(n / dt)
            edges, total = edges + n, total + dt
        pull_rate = edges / total
        print(f"pull alone: {len(gids)} graphs, {edges:,} edges in {total:.1f} s = {pull_rate:,.0f} edges/s "
              f"(median graph {statistics.median(rates):,.0f}, best {max(rates):,.0f}; "
              f"target >= 150,000: {'met' if pull_rate >= 150_000 else 'NOT met'})", flush=True)

        rows = []
        for workers in (1, 2):
            store.write(RESET_ANALYSES)
            store.write(RESET_JOBS)
            print(f"load average before the {workers}-worker run: {os.getloadavg()[0]:.1f}", flush=True)
            t = time.perf_counter()
            report = api.analyze(model, mode=args.mode, workers=workers, settings=settings)
            rows.append(fmt_run(f"{workers} worker{'s' if workers > 1 else ''}", report, time.perf_counter() - t))
        if args.null_samples:
            store.write(RESET_ANALYSES)
            store.write(RESET_JOBS)
            t = time.perf_counter()
            report = api.analyze(model, mode=args.mode, null="shuffle", null_samples=args.null_samples,
                                 workers=1, settings=settings)
            nulls = fmt_run(f"1 + {args.null_samples} null", report, time.perf_counter() - t)
            extra = nulls["wall_s"] / rows[0]["wall_s"] - 1
            print(f"{args.null_samples} null draws per graph cost {extra:.2f}x one real analysis job "
                  f"(pull + compute + write-back; target <= 3 for 10 draws)", flush=True)
    speedup = rows[1]["graphs_per_min"] / rows[0]["graphs_per_min"]
    print(f"2 workers / 1 worker: {speedup:.2f}x graphs per minute (on {os.cpu_count()} CPU cores, "
          f"shared with the graph server)")
    return {"ingest": ingest_rate, "pull": pull_rate, "rows": rows, "speedup": speedup}


if __name__ == "__main__":
    main()
