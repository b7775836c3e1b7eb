"""Shortest-path masses: exact igraph Dijkstra vs layered min-plus propagation.

    python benchmarks/analysis/bench_paths.py [--shapes pythia-160m pythia-1.4b] [--k 32] [--repeats 3]

For each Pythia-shaped SNIN: the per-node radius histograms of both modes must be identical
(not close: equal); then the seconds per SNIN of a full ``analyze_snin`` in each mode (box
growing + spectrum + NFD) and their ratio. Target: layered >= 10x faster.
"""

from __future__ import annotations

import argparse

import numpy as np
from common import machine, med, timed
from synth import SHAPES, pythia_like_snin

from neuromfa.analysis.engine import analyze_snin, box_hist
from neuromfa.analysis.layered import default_device
from neuromfa.schema.params import AnalysisParams


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    exact = AnalysisParams(mode="shortest-path")
    fast = AnalysisParams(mode="layered")
    print(f"machine: {machine()}; layered runs on {default_device()}")
    ok = True
    for shape in args.shapes:
        hidden, blocks = SHAPES[shape]
        snin = pythia_like_snin(hidden, blocks, args.k)
        print(f"\n{shape} shape (hidden {hidden}, {blocks} blocks), k={args.k}: {snin.n_nodes} nodes, {snin.n_edges} edges")
        (h_exact, _, _), tb_e, cb_e = timed(lambda: box_hist(snin, exact))
        (h_fast, _, _), tb_f, cb_f = timed(lambda: box_hist(snin, fast), args.repeats)
        same = np.array_equal(h_exact, h_fast)
        ok &= same
        print(f"  masses identical: {same} ({int(h_exact.sum())} (node, node) pairs within T)")
        print(f"  box growing only: shortest-path {med(tb_e):.3f} s, layered {med(tb_f):.3f} s wall "
              f"({med(tb_e) / med(tb_f):.0f}x; CPU {med(cb_e) / med(cb_f):.0f}x)")
        out_e, t_e, c_e = timed(lambda: analyze_snin(snin, exact))
        out_f, t_f, c_f = timed(lambda: analyze_snin(snin, fast), args.repeats)
        ok &= out_e.spectrum.model_dump(exclude={"mode"}) == out_f.spectrum.model_dump(exclude={"mode"})
        ratio, cpu_ratio = med(t_e) / med(t_f), med(c_e) / med(c_f)
        print(f"  seconds per SNIN (analyze_snin): shortest-path {med(t_e):.3f} s, layered {med(t_f):.3f} s wall "
              f"(CPU {med(c_e):.3f} / {med(c_f):.3f} s)")
        print(f"  speed-up layered vs shortest-path: {ratio:.0f}x wall, {cpu_ratio:.0f}x CPU "
              f"(target >= 10x: {'met' if min(ratio, cpu_ratio) >= 10 else 'NOT met'}); "
              f"alpha0 {out_f.spectrum.alpha0:.4f}, width {out_f.spectrum.width:.4f}")
    if not ok:
        raise SystemExit("layered and shortest-path results differ")


if __name__ == "__main__":
    main()
