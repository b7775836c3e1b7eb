"""The graphs aggregate: one stored SNIN is a (:Graph) with its (:Neuron)s and SYNAPSE edges.

Writing one is ONE transaction (Model, Checkpoint, Graph, Neurons, Synapses), so a killed
ingest never leaves a partial graph visible, and a failed one (NaN weights, k too large, ...)
no Model without graphs: the Model is created by the transaction of its first graph.
Idempotent: a Graph whose gid already exists is left as it is (nothing replaced, nothing
duplicated); two concurrent writers of the same gid collide on the Graph.gid constraint and the
loser reports "already stored". Pulling one reads it back columnar (no per-edge Python loop).

Statements: graph_exists, get_graph, create_graph, create_neurons, create_synapses,
pull_nodes, pull_edges, list_graphs, analysis_graphs, model_steps, model_topologies (and merge_model,
merge_checkpoint of store/models.py inside the write).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel

from neuromfa.base.errors import AnalysisError, ConfigError, DatabaseError, NotFoundError, action, param
from neuromfa.schema.layers import KINDS, PARTS
from neuromfa.schema.records import CheckpointRecord, GraphRecord, ModelRecord, neuron_uid
from neuromfa.schema.snin import SNIN, canonical_order
from neuromfa.store.models import merge_checkpoint, merge_model
from neuromfa.store.named import NamedStore, NamedTx

EDGE_BATCH = 20_000


class GraphSummary(BaseModel):
    """A stored graph to analyse: its gid, step, sample, size and topology."""

    gid: str
    step: int
    sample: int
    nodes: int
    edges: int
    topology: str = "reference"


class StoredSteps(BaseModel):
    """The steps and samples stored for a model (empty: none)."""

    steps: list[int]
    samples: list[int]


def neuron_rows(snin: SNIN, gid: str) -> list[dict[str, Any]]:
    """One {uid, layer, kind, block, index, part} map per node, in node-position order
    (``part`` None for nodes fed by a whole weight matrix)."""
    layer = snin.layer.tolist()
    index = snin.index.tolist()
    kinds = np.asarray(KINDS, dtype=object)[snin.kind].tolist()
    parts = [None] * snin.n_nodes if snin.part is None else \
        np.asarray([p or None for p in PARTS], dtype=object)[snin.part].tolist()
    return [{"uid": neuron_uid(gid, l, i), "layer": l, "kind": k, "block": b, "index": i, "part": p}
            for l, i, k, b, p in zip(layer, index, kinds, snin.block.tolist(), parts)]


def synapse_columns(snin: SNIN, ids: np.ndarray, lo: int, hi: int) -> dict[str, list[Any]]:
    """Edges lo..hi as equal-length columns {src, dst, w, d}: source and target element ids
    (``ids``: element id per node), weight and distance 1/|w|."""
    w = snin.w[lo:hi]
    return {"src": ids[snin.src[lo:hi]].tolist(), "dst": ids[snin.dst[lo:hi]].tolist(),
            "w": w.tolist(), "d": (1.0 / np.abs(w)).tolist()}


def check_writable(graph: GraphRecord, snin: SNIN) -> None:
    """ConfigError for a SNIN that must not be stored (no edges; NaN, inf or zero weights)."""
    if snin.n_edges == 0:
        raise ConfigError(f"graph {graph.gid} has no edges; nothing to store", f"check the model and {param('k')}")
    if not np.all(np.isfinite(snin.w)) or np.any(snin.w == 0):
        raise ConfigError(f"graph {graph.gid} holds NaN, inf or zero weights", "ingest rejects these before writing")


class GraphRepository:
    """Stored SNINs: write, exists, get, pull, list."""

    def __init__(self, store: NamedStore):
        self.store = store

    def exists(self, gid: str) -> bool:
        return bool(self.store.read_named("graph_exists", gid=gid))

    def get(self, gid: str) -> GraphRecord:
        rows = self.store.read_named("get_graph", gid=gid)
        if not rows:
            raise NotFoundError(f"no graph with gid {gid!r}", f"list stored graphs with {action('graphs')}")
        return GraphRecord(**rows[0])

    def write(self, checkpoint: CheckpointRecord, graph: GraphRecord, snin: SNIN, *,
              model: ModelRecord | None = None, on_edges: Callable[[int], None] | None = None) -> bool:
        """Store one SNIN. With ``model`` its Model is created (or its shape checked) in the
        same transaction; without, the Model must exist (``ModelRepository.ensure``). Returns
        False (and writes nothing) when its gid is already stored."""
        check_writable(graph, snin)
        if self.exists(graph.gid):
            return False
        try:
            with self.store.named_transaction() as tx:
                self._write_in(tx, checkpoint, graph, snin, model, on_edges)
        except ConfigError:
            raise
        except Exception:
            # A concurrent ingest of the same gid wins on the Graph.gid constraint (servers
            # report that differently); anything else is a real failure, rolled back, re-raised.
            if self.exists(graph.gid):
                return False
            raise
        return True

    @staticmethod
    def _write_in(tx: NamedTx, checkpoint: CheckpointRecord, graph: GraphRecord, snin: SNIN,
                  model: ModelRecord | None, on_edges: Callable[[int], None] | None) -> None:
        if model is not None:
            merge_model(tx, model)
        merge_checkpoint(tx, checkpoint)
        if not tx.run_named("create_graph", **graph.model_dump()):
            raise DatabaseError(f"checkpoint {checkpoint.model}@{checkpoint.step} vanished during ingest")
        created = tx.run_named("create_neurons", gid=graph.gid, rows=neuron_rows(snin, graph.gid))
        ids = np.asarray(created[0]["ids"], dtype=object)
        for lo in range(0, snin.n_edges, EDGE_BATCH):
            hi = min(lo + EDGE_BATCH, snin.n_edges)
            tx.run_named("create_synapses", **synapse_columns(snin, ids, lo, hi))
            if on_edges:
                on_edges(hi - lo)

    def pull(self, gid: str) -> SNIN:
        """The SNIN stored under ``gid``, in a canonical order: nodes by (layer, kind, block,
        index, part), synapses by (source, target). Servers return rows in orders of their own
        (ArcadeDB and Neo4j differ); a null model's seeded draws depend on the order, so the
        same stored graph must pull the same SNIN from any server."""
        graph = self.get(gid)
        nodes = self.store.read_named("pull_nodes", gid=gid)[0]
        edges = self.store.read_named("pull_edges", gid=gid)[0]
        if not nodes["ids"]:
            raise AnalysisError(f"graph {gid!r} has no neurons", "re-ingest the checkpoint")
        position = pd.Index(nodes["ids"])
        src = position.get_indexer(edges["src"])
        dst = position.get_indexer(edges["dst"])
        if len(edges["w"]) != graph.edges or (len(src) and (src.min() < 0 or dst.min() < 0)):
            raise AnalysisError(
                f"graph {gid!r} is inconsistent: {len(edges['w'])} synapses stored, {graph.edges} expected",
                "re-ingest it after deleting the graph",
            )
        parts = np.asarray(nodes["part"], dtype=object)
        kinds = np.asarray(nodes["kind"], dtype=object)
        layer, block, index = (np.asarray(nodes[c]) for c in ("layer", "block", "index"))
        order, src, dst, by_edge = canonical_order(layer, kinds.astype(str), block, index, parts.astype(str), src, dst)
        w = np.asarray(edges["w"], dtype=np.float64)
        parts = parts[order]
        return SNIN.from_columns(
            layer=layer[order], kind=kinds[order], block=block[order], index=index[order],
            src=src, dst=dst, w=w[by_edge], gid=gid, meta=graph.model_dump(),
            part=parts if parts.astype(bool).any() else None,  # None: stored before parts were
            topology=graph.topology,  # which kind pairs are structural (residual edges: faithful)
        )

    def list_graphs(self, model: str | None = None) -> list[GraphRecord]:
        """Every stored graph (of ``model`` when given), by model, step and sample."""
        return [GraphRecord(**r) for r in self.store.read_named("list_graphs", model=model)]

    def topologies(self, model: str) -> list[str]:
        """The topologies of ``model``'s stored graphs (empty: none stored)."""
        rows = self.store.read_named("model_topologies", model=model)
        return sorted(rows[0]["topologies"]) if rows else []

    def steps(self, model: str) -> StoredSteps:
        return StoredSteps(**self.store.read_named("model_steps", model=model)[0])

    def of_model(self, model: str, steps: Sequence[int] | None = None,
                 samples: Sequence[int] | None = None) -> list[GraphSummary]:
        """Stored graphs of ``model`` (optionally some steps / samples), by step and sample;
        NotFoundError when none match, saying what is stored."""
        rows = self.store.read_named("analysis_graphs", model=model,
                                     steps=list(steps) if steps is not None else None,
                                     samples=list(samples) if samples is not None else None)
        if rows:
            return [GraphSummary(**r) for r in rows]
        stored = self.steps(model)
        if not stored.steps:
            raise NotFoundError(f"no stored graphs of model {model!r}",
                                f"ingest it first ({action('ingest', path=None, name=model)}); "
                                f"{action('graphs')} lists what is stored")
        asked = []
        if steps is not None:
            asked.append(f"step {', '.join(map(str, steps))}")
        if samples is not None:
            asked.append(f"sample {', '.join(map(str, samples))}")
        raise NotFoundError(f"model {model!r} has no graph at {' and '.join(asked)}",
                            f"stored steps: {', '.join(map(str, sorted(stored.steps)))}; "
                            f"samples: {', '.join(map(str, sorted(stored.samples)))}")
