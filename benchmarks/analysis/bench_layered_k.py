"""How layered-mode time grows with the sample size k (Pythia-1.4B shape).

    python benchmarks/analysis/bench_layered_k.py [--ks 16 32 64 128] [--shape pythia-1.4b] [--repeats 2]

Prints, per k, the SNIN size, the seconds of box growing and of a full ``analyze_snin``, the
ratio to the previous k and the log-log growth exponent (edges grow as k^2).
"""

from __future__ import annotations

import argparse
import math

from common import machine, med, timed
from synth import SHAPES, pythia_like_snin

from neuromfa.analysis.engine import analyze_snin, box_hist
from neuromfa.analysis.layered import default_device
from neuromfa.schema.params import AnalysisParams


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ks", nargs="+", type=int, default=[16, 32, 64, 128])
    ap.add_argument("--shape", default="pythia-1.4b", choices=list(SHAPES))
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    hidden, blocks = SHAPES[args.shape]
    params = AnalysisParams(mode="layered")
    print(f"machine: {machine()}; layered runs on {default_device()}")
    print(f"{args.shape} shape (hidden {hidden}, {blocks} blocks)")
    print(f"{'k':>5} {'nodes':>7} {'edges':>9} {'pairs<=T':>10} {'box s':>8} {'analyze s':>10} {'CPU s':>7} {'x prev':>7} {'exponent':>8}")
    prev = None
    for k in args.ks:
        snin = pythia_like_snin(hidden, blocks, k)
        (hist, _, _), t_box, _ = timed(lambda: box_hist(snin, params), args.repeats)
        _, t_all, c_all = timed(lambda: analyze_snin(snin, params), args.repeats)
        t = med(t_all)
        grow = exp = ""
        if prev:
            grow = f"{t / prev[1]:.1f}"
            exp = f"{math.log(t / prev[1]) / math.log(k / prev[0]):.2f}"
        print(f"{k:>5} {snin.n_nodes:>7} {snin.n_edges:>9} {int(hist.sum()):>10} {med(t_box):>8.3f} {t:>10.3f} {med(c_all):>7.3f} {grow:>7} {exp:>8}")
        prev = (k, t)


if __name__ == "__main__":
    main()
