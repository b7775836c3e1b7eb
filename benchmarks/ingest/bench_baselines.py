"""What the weight-scale baselines add to ingest: the same ingest with and without them, in the
same run, each in a fresh child process (its own peak RSS) and a fresh database.

Models: a training run folder given with --run (e.g. the demo's run: every checkpoint), and
those of bench_ingest.py (a Pythia-160M-shaped GPT-NeoX, SmolLM2-135M GGUF, all-MiniLM-L6-v2).
Target (issue #16): baselines add under 20% to the ingest time. Each pair is measured
``--repeat`` times, alternating which goes first; the medians are reported. ``overhead`` is the
difference of the two medians (noisy on a shared machine: other processes' load moves both);
``share`` is the time the ingest itself spent on the baselines (its ``seconds_baselines``) over
the median ingest without them, which load moves far less.

    python benchmarks/ingest/bench_baselines.py [--run neuromfa-demo/run] [--models minilm] [--samples 3] [--k 32]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("bench_ingest", HERE / "bench_ingest.py")
assert _spec and _spec.loader
bench_ingest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_ingest)

CHILD = r"""
import json, sys
from neuromfa.ingest.pipeline import ingest_path
from neuromfa.store.connection import open_store
path, name, samples, k, baselines = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"
with open_store(autostart=False) as store:
    store.apply_schema()
    r = ingest_path(store, path, name=name, samples=samples, k=k, baselines=baselines)
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
print(json.dumps({"checkpoints": r.checkpoints, "seconds": r.seconds, "seconds_baselines": r.seconds_baselines,
                  "baselines_written": r.baselines_written, "peak_rss_mb": hwm / 1024}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, default=None, help="a training run folder (stepN subfolders)")
    ap.add_argument("--models", default="minilm", help=f"of {', '.join(bench_ingest.MODELS)}, comma-separated ('' none)")
    ap.add_argument("--samples", type=int, default=3)
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "neuromfa-bench-models")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)

    from neuromfa.store.connection import database_settings
    from neuromfa.store.server import LocalServer

    sys.path.insert(0, str(HERE.parents[1] / "tests"))
    from arcade_admin import DatabaseAdmin  # the tests' database admin: test support, not shipped

    env = dict(os.environ)
    if not database_settings().uri:
        server = LocalServer()
        server.start()
        env.update(NEO4J_URI=server.uri, NEO4J_USERNAME=server.username, NEO4J_PASSWORD=server.password())
        admin = DatabaseAdmin.of(server)
    else:
        admin = None
    targets = ([("run", args.run)] if args.run else []) + \
              [(key, bench_ingest.MODELS[key](args.workdir)) for key in filter(None, args.models.split(","))]
    print(f"samples {args.samples}, k {args.k}; medians of {args.repeat} pairs (alternating order)")
    print(f"{'model':12} {'ckpts':>5} {'without s':>10} {'with s':>8} {'baselines s':>12} {'overhead':>9} "
          f"{'share':>6} {'RSS without MB':>15} {'RSS with MB':>12} {'largest tensor MB':>18}")
    for key, path in targets:
        times: dict[bool, list[dict]] = {False: [], True: []}
        for i in range(args.repeat):
            for baselines in ((False, True) if i % 2 == 0 else (True, False)):
                db = f"bench_{uuid.uuid4().hex[:8]}"
                if admin:
                    admin.create_database(db)
                    env["NEO4J_DATABASE"] = db
                try:
                    times[baselines].append(bench_ingest.child(CHILD, env, str(path), key, str(args.samples),
                                                               str(args.k), "1" if baselines else "0"))
                finally:
                    if admin:
                        admin.drop_database(db)
        without = statistics.median(r["seconds"] for r in times[False])
        with_ = statistics.median(r["seconds"] for r in times[True])
        base_s = statistics.median(r["seconds_baselines"] for r in times[True])
        assert all(r["baselines_written"] == r["checkpoints"] for r in times[True])
        lt = bench_ingest.largest_tensor_mb(path) if path.is_dir() and any(path.glob("*.safetensors")) else None
        print(f"{key:12} {times[True][0]['checkpoints']:5d} {without:10.2f} {with_:8.2f} {base_s:12.2f} "
              f"{100 * (with_ - without) / without:8.1f}% {100 * base_s / without:5.1f}% {max(r['peak_rss_mb'] for r in times[False]):15.0f} "
              f"{max(r['peak_rss_mb'] for r in times[True]):12.0f} {('-' if lt is None else f'{lt:.0f}'):>18}", flush=True)


if __name__ == "__main__":
    main()
