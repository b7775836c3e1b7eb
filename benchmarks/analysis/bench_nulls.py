"""Cost of a null model: N null draws analysed beside the real graph, against the plain loop.

    python benchmarks/analysis/bench_nulls.py [--shapes demo pythia-160m pythia-1.4b] [--k 32]
        [--draws 10] [--modes one-hop layered] [--repeats 3]

Per SNIN shape and mode: seconds of one real analysis (``analyze_snin`` without a null), of
the same call with ``null="shuffle", null_samples=N`` (the real graph and its N draws: the draws
reuse the SNIN in memory and its weight blocks, skip the NFD and, in layered mode on a GPU, run
through the min-plus engine as one batch), and of the plain loop (N separate ``analyze_snin``
calls on ``null_snin`` draws). The figure
of merit is the extra cost of the N draws in units of one real analysis: target <= 3 for 10
draws. A job also pulls the graph from the database and writes back (`bench_jobs.py`: pull is
about 30% of a plain job's time); the draws add to the compute part only. The null means of both
ways are checked equal (same seeds).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from common import machine, med, timed
from synth import SHAPES, pythia_like_snin

from neuromfa.analysis.engine import analyze_snin
from neuromfa.analysis.nulls import null_snin
from neuromfa.ingest.build import snin_for_checkpoint
from neuromfa.schema.params import AnalysisParams

FIXTURE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "neox-h64-l2"  # the demo's tiny GPT-NeoX shape (hidden 64, 2 blocks)


def snin_of(shape: str, k: int):
    if shape == "demo":
        return snin_for_checkpoint(FIXTURE, sample=0, k=k, gid="bench")
    hidden, blocks = SHAPES[shape]
    return pythia_like_snin(hidden, blocks, k)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shapes", nargs="+", default=["demo", "pythia-160m", "pythia-1.4b"])
    ap.add_argument("--modes", nargs="+", default=["one-hop", "layered"])
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--draws", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    print(f"machine: {machine()}")
    print(f"| shape | mode | real s | real + {args.draws} draws s | draws / real | plain loop s | loop / real | loop / ours |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for shape in args.shapes:
        snin = snin_of(shape, args.k)
        for mode in args.modes:
            real = AnalysisParams(mode=mode)
            nulls = AnalysisParams(mode=mode, null="shuffle", null_samples=args.draws)
            analyze_snin(snin, nulls)  # warm-up (torch, caches)
            _, t_real, _ = timed(lambda: analyze_snin(snin, real), args.repeats)
            out, t_null, _ = timed(lambda: analyze_snin(snin, nulls), args.repeats)
            loop, t_loop, _ = timed(lambda: [analyze_snin(null_snin(snin, "shuffle", j), real).spectrum.alpha0
                                             for j in range(args.draws)], args.repeats)
            assert out.null is not None and out.null.alpha0 == loop, "batched and looped draws differ"
            r, n, lp = med(t_real), med(t_null), med(t_loop)
            print(f"| {shape} ({snin.n_nodes} nodes, {snin.n_edges} edges) | {mode} | {r:.3f} | {n:.3f} | "
                  f"{(n - r) / r:.2f} | {lp:.3f} | {lp / r:.2f} | {lp / (n - r):.2f}x |")


if __name__ == "__main__":
    main()
