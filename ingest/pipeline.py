"""Ingest a model or a training run: every checkpoint x every sample -> one stored SNIN.

Each checkpoint file is opened once; each sample reads only its sampled rows and columns. Graphs already stored (same gid) are skipped before any weight is read, so a re-run
is cheap. Per checkpoint, the weight-scale baselines (ingest/baselines.py, every matrix read
whole, one tensor at a time) and optionally WeightWatcher's peer metrics (ingest/peers.py) are
computed before its graphs are written and stored on its Checkpoint after them; a re-run
computes only those a Checkpoint lacks (a database from before baselines gets them filled in).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel

from neuromfa.base.errors import ConfigError, param
from neuromfa.base.limits import MAX_SAMPLES, MAX_SEED, check_neurons, check_range, check_samples
from neuromfa.ingest.adapters import adapter_for
from neuromfa.ingest.baselines import checkpoint_baselines
from neuromfa.ingest.build import build_snin, check_topology
from neuromfa.ingest.checkpoints import CheckpointRef, discover_checkpoints
from neuromfa.ingest.peers import check_peers, peer_metrics
from neuromfa.ingest.readers import open_model
from neuromfa.ingest.sampler import check_k, draws_for_sample
from neuromfa.ingest.scope import LayerScope, scope_of_gid
from neuromfa.schema.records import (
    CheckpointBaselines,
    CheckpointRecord,
    GraphRecord,
    ModelRecord,
    PeerMetrics,
    Topology,
    graph_id,
)
from neuromfa.store.graphs import GraphRepository
from neuromfa.store.models import ModelRepository
from neuromfa.store.named import NamedStore

MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+-]{0,99}$")


class IngestReport(BaseModel):
    model: str
    checkpoints: int
    graphs_written: int
    graphs_present: int
    edges_written: int
    seconds: float
    seconds_build: float = 0.0  # reading the sampled weights and building the SNINs
    seconds_write: float = 0.0  # the graph transactions
    zero_weights: int = 0  # exact-zero weights among the sampled pairs of the graphs written: no edge
    warnings: list[str] = []  # one line each, e.g. a config that disagrees with the tensor shapes
    baselines_written: int = 0  # Checkpoints that got their weight-scale baselines in this run
    seconds_baselines: float = 0.0  # reading every matrix whole and computing them
    peers_written: int = 0  # Checkpoints that got WeightWatcher's metrics in this run
    seconds_peers: float = 0.0


def check_name(name: str) -> str:
    if not MODEL_NAME.match(name or ""):
        raise ConfigError(
            f"invalid model name {name!r}",
            "use letters, digits and . _ : + - (up to 100 characters, no '/', '@' or '#')",
        )
    return name


def sample_list(samples: int | Sequence[int]) -> list[int]:
    """Sample numbers of a count (0..S-1) or a list; at most MAX_SAMPLES, checked before any is made."""
    if isinstance(samples, int):
        return list(range(check_samples(samples)))
    picked = sorted(set(int(s) for s in samples))
    if not picked or min(picked) < 0 or max(picked) >= MAX_SEED:
        raise ConfigError(f"{param('samples')} must be a positive count or sample numbers from 0 to 2**32 - 1, got {samples!r}")
    if len(picked) > MAX_SAMPLES:
        raise ConfigError(f"{len(picked)} samples requested, at most {MAX_SAMPLES} are allowed",
                          "ingest fewer samples per call")
    return picked


def check_ingest(name: str, samples: int | Sequence[int], k: int, seed_base: int,
                 topology: str = "reference") -> list[int]:
    """Every ingest argument that can be checked without the model or the database; returns
    the sample numbers. The CLI calls it before starting the server."""
    check_name(name)
    check_topology(topology)
    check_neurons(k)
    picked = sample_list(samples)
    check_range("seed_base", seed_base, 0, MAX_SEED - 1 - picked[-1],
                f"seeds are seed_base + sample and must stay below 2**32 ({MAX_SEED})")
    return picked


def check_sampling(store: NamedStore, name: str, k: int, seed_base: int, topology: Topology = "reference",
                   scope: LayerScope | None = None) -> None:
    """One k, one seed base and one topology per model name: the analyses and tables of a model
    compare the same neurons, wired the same way, across checkpoints, and a graph's gid does not
    hold its seed base. (Both topologies of a checkpoint go under two names.)"""
    used = ModelRepository(store).sampling(name)
    topologies = GraphRepository(store).topologies(name)
    for what, value, stored in (("k", k, used.ks), ("seed_base", seed_base, used.seed_bases),
                                ("topology", topology, topologies)):
        if stored and stored != [value]:
            raise ConfigError(
                f"model {name!r} is stored with {param(what)} {', '.join(map(str, sorted(stored)))}, not {value}",
                f"ingest with {param(what, stored[0])}, or under another {param('name')}", param=what,
            )
    # one block / kind restriction per model name too: a model's tables never mix sub-networks
    want = (scope or LayerScope()).suffix
    scopes = sorted({scope_of_gid(g.gid) for g in GraphRepository(store).list_graphs(name)})
    if scopes and scopes != [want]:
        shown = ", ".join(s or "(all layers)" for s in scopes)
        raise ConfigError(f"model {name!r} is stored with layer restriction {shown}, not {want or '(all layers)'}",
                          f"ingest with the same {param('blocks')} / {param('kinds')}, or under another "
                          f"{param('name')}", param="blocks")


def ingest_path(
    store: NamedStore,
    path: str | Path,
    *,
    name: str,
    step: int | None = None,
    samples: int | Sequence[int] = 10,
    k: int = 32,
    seed_base: int = 0,
    on_checkpoints: Callable[[list[CheckpointRef]], None] | None = None,
    on_graph: Callable[[str, bool], None] | None = None,
    on_edges: Callable[[int], None] | None = None,
    topology: Topology = "reference",
    baselines: bool = True,
    peers: bool = False,
    scope: LayerScope | None = None,
) -> IngestReport:
    """Store SNINs for every checkpoint under ``path`` and every sample.

    ``on_checkpoints`` gets the discovered checkpoints; ``on_graph(gid, written)`` is called per
    graph (written=False: it was already stored); ``on_edges(n)`` as synapses are written.
    ``topology``: how the graphs are wired (ingest/build.py), one per model name.
    ``baselines``: store the weight-scale baselines on each Checkpoint lacking them;
    ``peers``: also WeightWatcher's metrics (needs the ``peers`` extra).
    ``scope``: only some blocks / layer kinds (ingest/scope.py; part of the graph id).
    """
    scope = scope or LayerScope()
    picked = check_ingest(name, samples, k, seed_base, topology)
    if peers:
        check_peers()
    refs = discover_checkpoints(path, step=step)
    if on_checkpoints:
        on_checkpoints(refs)
    started = time.perf_counter()
    graphs, models = GraphRepository(store), ModelRepository(store)
    written = present = edges = zeros = base_written = peers_written = 0
    t_build = t_write = t_base = t_peers = 0.0
    known = {b.step: b for b in models.baselines(name)} if baselines or peers else {}
    warnings: dict[str, Path] = {}  # warning -> first checkpoint with it (a run's checkpoints repeat them)
    for ref in refs:
        with open_model(ref.path) as source:
            adapter = adapter_for(source)
            for line in adapter.warnings:
                warnings.setdefault(line, ref.path)
            facts = adapter.facts
            model = ModelRecord(name=name, arch=facts.arch, hidden=facts.hidden, blocks=facts.blocks,
                                params=facts.params, source=str(Path(path).resolve()))
            check_k(facts.sizes, k)
            scope.check_model(facts.blocks)
            # read-only: the Model is created by its first graph's transaction, so a failure
            # anywhere before (NaN weights, k too large) leaves no Model holding the name
            models.check_shape(model)  # before skipping anything: a name clash is an error
            if ref is refs[0]:
                check_sampling(store, name, k, seed_base, topology, scope)
            checkpoint = CheckpointRecord(model=name, step=ref.step, metrics=json.dumps(ref.metrics),
                                          source=str(ref.path.resolve()))
            # computed before the graphs are written: a NaN anywhere in a matrix fails the
            # checkpoint before anything of it is stored
            have = known.get(ref.step)
            t0 = time.perf_counter()
            scale: CheckpointBaselines | None = None
            if baselines and not (have and have.has_baselines):
                scale = checkpoint_baselines(source, adapter)
            t1 = time.perf_counter()
            peer: PeerMetrics | None = None
            if peers and not (have and have.has_peers):
                peer = peer_metrics(ref.path)
            t_base += t1 - t0
            t_peers += time.perf_counter() - t1
            for s in picked:
                gid = graph_id(name, ref.step, s, k, topology) + scope.suffix
                if graphs.exists(gid):
                    present += 1
                    if on_graph:
                        on_graph(gid, False)
                    continue
                t0 = time.perf_counter()
                draws = draws_for_sample(facts.sizes, facts.blocks, sample=s, k=k, seed_base=seed_base)
                # the full sample, then its restriction: the same neurons as the full graph's
                snin = scope.apply(build_snin(source, adapter, draws, gid=gid, topology=topology))
                if not snin.n_edges:
                    raise ConfigError(f"the layer restriction {scope.suffix} leaves no synapse in {gid!r}: no "
                                      f"matrix of this model ({topology} topology) joins the kept kinds",
                                      f"keep adjacent kinds, e.g. {param('kinds', 'input,qkv')}", param="kinds")
                t1 = time.perf_counter()
                graph = GraphRecord(gid=gid, model=name, step=ref.step, sample=s, seed=seed_base + s, k=k,
                                    topology=topology, nodes=snin.n_nodes, edges=snin.n_edges)
                stored = graphs.write(checkpoint, graph, snin, model=model, on_edges=on_edges)
                t_build += t1 - t0
                t_write += time.perf_counter() - t1
                written += stored
                present += not stored
                edges += snin.n_edges if stored else 0
                zeros += snin.meta["zero_weights"] if stored else 0
                if on_graph:
                    on_graph(gid, stored)
            # the Checkpoint exists now (written by its first graph, or stored before)
            if scale is not None and models.set_baselines(name, ref.step, scale):
                base_written += 1
            if peer is not None and models.set_peers(name, ref.step, peer):
                peers_written += 1
    return IngestReport(model=name, checkpoints=len(refs), graphs_written=written, graphs_present=present,
                        edges_written=edges, seconds=round(time.perf_counter() - started, 3),
                        seconds_build=round(t_build, 3), seconds_write=round(t_write, 3),
                        zero_weights=zeros, warnings=[f"{where}: {line}" for line, where in warnings.items()],
                        baselines_written=base_written, seconds_baselines=round(t_base, 3),
                        peers_written=peers_written, seconds_peers=round(t_peers, 3))
