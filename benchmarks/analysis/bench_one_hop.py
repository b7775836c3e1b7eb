"""One-hop NeuroMFA on a Pythia-1.4B-shaped SNIN: the engine vs a plain per-node Python loop.

    python benchmarks/analysis/bench_one_hop.py [--k 32] [--repeats 5]

The baseline implements the same formulas (docs/method.md section 3) with Python lists and loops
over nodes, edges, radii and q; it lives here only as the yardstick. Both run in this process
on the same SNIN; the script checks they agree and prints the ratio. Targets: >= 100x, < 1 s.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from common import machine, med, timed
from synth import SHAPES, pythia_like_snin

from neuromfa.analysis.engine import analyze_snin
from neuromfa.schema.params import AnalysisParams


def baseline_one_hop(snin, threshold: float, min_mass: int, q: list[float]) -> dict:
    """Per-node Python loops, no numpy in the computation."""
    n = snin.n_nodes
    succ: list[list[int]] = [[] for _ in range(n)]
    for s, w, structural in zip(snin.src.tolist(), snin.w.tolist(), snin.structural.tolist()):
        if structural or w == 0:
            continue
        d = 1.0 / abs(w)
        if 1.0 < d <= threshold:
            succ[s].append(round(d))  # Python's round is half to even, like numpy's
    eligible = [i for i in range(n) if len(succ[i]) > min_mass]
    radii = sorted({r for i in eligible for r in succ[i]})
    dmax = radii[-1]
    mus = []
    for i in eligible:
        total = 1 + len(succ[i])
        mus.append([(1 + sum(1 for x in succ[i] if x <= r)) / total for r in radii])
    x = [math.log(r / dmax) for r in radii]
    xm = sum(x) / len(x)
    sxx = sum((v - xm) ** 2 for v in x)
    tau = []
    for qq in q:
        y = [math.log(sum(mu[j] ** qq for mu in mus)) for j in range(len(radii))]
        ym = sum(y) / len(y)
        tau.append(sum((a - xm) * (b - ym) for a, b in zip(x, y)) / sxx)
    alpha = [(tau[k + 1] - tau[k]) / (q[k + 1] - q[k]) for k in range(len(q) - 1)]
    f = [q[k] * alpha[k] - tau[k] for k in range(len(q) - 1)]
    k = max(range(len(f)), key=f.__getitem__)
    i0 = min(range(len(q)), key=lambda j: abs(q[j]))
    alpha0 = (tau[i0 + 1] - tau[i0 - 1]) / (q[i0 + 1] - q[i0 - 1]) if k in (i0 - 1, i0) else alpha[k]
    return {"tau": tau, "alpha0": alpha0, "width": max(alpha) - min(alpha)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    hidden, blocks = SHAPES["pythia-1.4b"]
    snin = pythia_like_snin(hidden, blocks, args.k)
    params = AnalysisParams(mode="one-hop")
    print(f"machine: {machine()}")
    print(f"SNIN: Pythia-1.4B shape (hidden {hidden}, {blocks} blocks), k={args.k}: {snin.n_nodes} nodes, {snin.n_edges} edges")

    out, t_engine, c_engine = timed(lambda: analyze_snin(snin, params), args.repeats)
    base, t_base, c_base = timed(lambda: baseline_one_hop(snin, params.threshold, params.min_mass, params.q_grid().tolist()))
    sp = out.spectrum
    dtau = float(np.max(np.abs(np.array(sp.tau) - base["tau"])))
    print(f"engine one-hop: wall median {med(t_engine):.4f} s (min {min(t_engine):.4f}), CPU median {med(c_engine):.4f} s, "
          f"{args.repeats} runs; {sp.nodes_used} eligible nodes, {len(sp.radii)} radii, {len(sp.q)} q")
    print(f"python-loop baseline: wall {t_base[0]:.2f} s, CPU {c_base[0]:.2f} s")
    print(f"agreement: max |dtau| = {dtau:.1e}, |dalpha0| = {abs(sp.alpha0 - base['alpha0']):.1e}, "
          f"|dwidth| = {abs(sp.width - base['width']):.1e}")
    wall_ratio, cpu_ratio = t_base[0] / med(t_engine), c_base[0] / med(c_engine)
    print(f"speed-up: {wall_ratio:.0f}x wall, {cpu_ratio:.0f}x CPU "
          f"(target >= 100x: {'met' if max(wall_ratio, cpu_ratio) >= 100 else 'NOT met'}"
          f"{'' if min(wall_ratio, cpu_ratio) >= 100 else ' on CPU time only; wall time is load-dependent here'}); "
          f"engine < 1 s wall: {'met' if med(t_engine) < 1 else 'NOT met'}")
    if dtau > 1e-9:
        raise SystemExit("engine and baseline disagree")


if __name__ == "__main__":
    main()
