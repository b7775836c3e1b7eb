"""Helpers for the job tests: real fixture graphs (and larger synthetic ones, for jobs that take
seconds) written to the test database, and `neuromfa` subprocesses."""

from __future__ import annotations

import importlib.util
import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

from neuromfa.ingest.build import snin_for_checkpoint
from neuromfa.schema.records import CheckpointRecord, GraphRecord, ModelRecord, graph_id
from neuromfa.schema.snin import SNIN
from neuromfa.store.graphs import GraphRepository
from neuromfa.store.models import ModelRepository

FIXTURE = Path(__file__).parent / "fixtures" / "neox-h64-l2"
SYNTH = Path(__file__).parents[1] / "benchmarks" / "analysis" / "synth.py"
CLI = [sys.executable, "-m", "neuromfa.cli"]  # the `neuromfa` command
PAUSING_WORKER = [sys.executable, str(Path(__file__).parent / "pausing_worker.py")]  # + SECONDS, worker args


def store_graph(store, snin: SNIN, model: str, step: int, sample: int, k: int = 32,
                metrics: dict | None = None) -> str:
    """Write ``snin`` as graph (model, step, sample); returns its gid."""
    meta = snin.meta
    gid = graph_id(model, step, sample, k)
    ModelRepository(store).ensure(ModelRecord(name=model, arch=meta["arch"], hidden=meta["hidden"],
                                              blocks=meta["blocks"], params=meta["params"],
                                              source=str(meta.get("source", ""))))
    GraphRepository(store).write(
        CheckpointRecord(model=model, step=step, metrics=json.dumps(metrics or {})),
        GraphRecord(gid=gid, model=model, step=step, sample=sample, seed=sample, k=k,
                    nodes=snin.n_nodes, edges=snin.n_edges),
        snin,
    )
    return gid


def store_fixture(store, model: str = "neox", steps=(0,), samples=(0,), k: int = 32,
                  metrics: dict[int, dict] | None = None) -> dict[tuple[int, int], SNIN]:
    """Ingest the fixture checkpoint as every (step, sample); returns the SNINs built."""
    built = {}
    for sample in samples:
        snin = snin_for_checkpoint(FIXTURE, sample=sample, k=k)
        for step in steps:
            store_graph(store, snin, model, step, sample, k, (metrics or {}).get(step))
            built[(step, sample)] = snin
    return built


COUNT_ANALYSES = "MATCH (a:Analysis) RETURN count(a) AS n"
COUNT_MEASURED = "MATCH (:Neuron)-[m:MEASURED]->(:Analysis) RETURN count(m) AS n"
COUNT_JOBS = "MATCH (j:Job) RETURN count(j) AS n"


def count(store, query: str) -> int:
    return store.read(query)[0]["n"]


def settings_for(graph_server, store):
    """DatabaseSettings naming the test database (what executors hand to their processes)."""
    from neuromfa.base.settings import DatabaseSettings

    return DatabaseSettings(uri=graph_server.uri, username=graph_server.username,
                            password=graph_server.password, database=store.database)


def store_pythia_shaped(store, model: str = "big", steps=(0,), samples=(0,), hidden: int = 768,
                        blocks: int = 12, k: int = 32) -> list[str]:
    """Pythia-160M-shaped SNINs with N(0, 0.02) weights (benchmarks/analysis/synth.py), as
    graphs (model, step, sample): about 123,000 synapses each, a shortest-path job of seconds.
    Returns their gids."""
    spec = importlib.util.spec_from_file_location("neuromfa_bench_synth", SYNTH)
    synth = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(synth)
    gids = []
    for sample in samples:
        snin = synth.pythia_like_snin(hidden, blocks, k, seed=sample)
        snin.meta.update(arch="gpt_neox", hidden=hidden, blocks=blocks, params=0, source="synthetic")
        gids += [store_graph(store, snin, model, step, sample, k) for step in steps]
    return gids


class Proc:
    """A `neuromfa` subprocess (or another ``command``) whose stdout and stderr lines are
    collected as they come."""

    def __init__(self, args: list[str], env: dict[str, str], command: list[str] = CLI):
        self.popen = subprocess.Popen([*command, *args], env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: queue.Queue[str] = queue.Queue()
        self.out: list[str] = []
        self.err: list[str] = []
        for stream, sink in ((self.popen.stdout, self.out), (self.popen.stderr, self.err)):
            threading.Thread(target=self._pump, args=(stream, sink), daemon=True).start()

    def _pump(self, stream, sink: list[str]) -> None:
        for line in stream:
            sink.append(line)
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 120.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                if self.popen.poll() is not None and self.lines.empty():
                    break
                continue
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r}; stdout={''.join(self.out)} stderr={''.join(self.err)}")

    def finish(self, timeout: float = 120.0) -> int:
        rc = self.popen.wait(timeout)
        time.sleep(0.2)  # let the pump threads drain
        return rc

    def output(self) -> str:
        return "".join(self.out) + "".join(self.err)


def wait_until(predicate, timeout: float = 120.0, what: str = "condition", every: float = 0.3):
    """Poll ``predicate`` until it returns something truthy (returned), or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


def race(graph_server, store, n: int, attempt) -> list[int]:
    """``n`` threads, each with its own connection to the test database, start ``attempt(own, i)``
    at the same moment; returns the indices of those whose attempt returned something truthy."""
    import threading

    barrier, won = threading.Barrier(n), []

    def racer(i: int) -> None:
        with graph_server.connect(store.database) as own:
            barrier.wait()
            if attempt(own, i):
                won.append(i)

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return won
