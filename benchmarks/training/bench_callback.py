"""Cost of live NeuroMFA during training: the demo's run (tiny preset) trained without and with
the plain-PyTorch hook evaluating every 50 steps, in one process, one after the other.

    python benchmarks/training/bench_callback.py [--every 50] [--steps N] [--samples 3] [--k 32]
        [--null-samples 5] [--out-dir DIR]

Each variant trains the same run from scratch into its own folder (the same weights: a run is a
pure function of preset, seed and corpus) with the demo's checkpoint schedule:

- ``plain``: no hook;
- ``live``: LiveMFA every ``--every`` steps, the demo's sampling (3 samples of k = 32) and
  headline mode (layered, paper's band);
- ``live+null``: the same with the demo's shuffle null (5 draws), unless --null-samples 0.

Prints wall and CPU seconds per variant, the overhead against ``plain`` (wall and CPU), and the
seconds the hook itself spent (the sum of its evaluations, the least noisy figure on a shared
machine). ``--steps`` shortens the run (the overhead per evaluation is the same) for a quick look.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "analysis"))
from common import machine

from neuromfa.integrations import LiveMFA
from neuromfa.training.corpus import load_corpus
from neuromfa.training.presets import get_preset
from neuromfa.training.train_example import train_example


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--every", type=int, default=50)
    ap.add_argument("--steps", type=int, default=None, help="train this many steps instead of the preset's")
    ap.add_argument("--samples", type=int, default=3)
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--null-samples", type=int, default=5, help="0: no live+null variant")
    ap.add_argument("--out-dir", type=Path, default=None, help="where the runs go (default: a temporary folder)")
    a = ap.parse_args()
    spec = get_preset("tiny")
    if a.steps is not None:
        spec = spec.model_copy(update={"steps": a.steps})
    root = a.out_dir or Path(tempfile.mkdtemp(prefix="bench-callback-"))
    print(f"machine: {machine()}")
    print(f"preset tiny, {spec.steps} steps, evaluation every {a.every} steps ({spec.steps // a.every + 1} evaluations), "
          f"{a.samples} samples of k = {a.k}, layered; runs in {root}")
    # the corpus read once before timing (the first variant would pay the cold file reads)
    load_corpus(None, max_train_bytes=spec.train_bytes, max_val_bytes=spec.val_bytes, min_tokens=spec.context + 2)
    variants: list[tuple[str, dict | None]] = [("plain", None), ("live", {})]
    if a.null_samples:
        variants.append(("live+null", {"null": "shuffle", "null_samples": a.null_samples}))
    rows = []
    for name, extra in variants:
        hook = None if extra is None else LiveMFA(a.every, name="bench", samples=a.samples, k=a.k, **extra)
        t, c = time.perf_counter(), time.process_time()
        train_example(root / name, preset=spec, on_step=hook, overwrite=True)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        spent = sum(m.seconds for m in hook.history) if hook else 0.0
        rows.append((name, wall, cpu, spent, len(hook.history) if hook else 0,
                     hook.history[-1].E if hook else None))
        print(f"  {name}: {wall:.1f} s wall, {cpu:.1f} s CPU", flush=True)
    base_wall, base_cpu = rows[0][1], rows[0][2]
    print()
    print("| variant | evaluations | wall s | CPU s | overhead (wall) | overhead (CPU) | hook s | hook / plain wall | E at last step |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, wall, cpu, spent, n, e in rows:
        print(f"| {name} | {n} | {wall:.1f} | {cpu:.1f} | {100 * (wall / base_wall - 1):+.1f}% | {100 * (cpu / base_cpu - 1):+.1f}% "
              f"| {spent:.2f} | {100 * spent / base_wall:.2f}% | {'' if e is None else f'{e:.4f}'} |")


if __name__ == "__main__":
    main()
