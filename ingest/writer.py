"""Write one SNIN into the graph database: Model, Checkpoint, Graph, Neurons and SYNAPSE edges
in ONE transaction, so a killed ingest never leaves a partial graph visible, and a failed one
(NaN weights, k too large, ...) no Model without graphs: the Model is created by the
transaction of its first graph.

Idempotent: a Graph whose gid already exists is left as it is (nothing replaced, nothing
duplicated); two concurrent writers of the same gid collide on the Graph.gid constraint and the
loser reports "already stored".
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from neuromfa.base.errors import ConfigError, DatabaseError
from neuromfa.schema.layers import KINDS, PARTS
from neuromfa.schema.records import CheckpointRecord, GraphRecord, ModelRecord, neuron_uid
from neuromfa.schema.snin import SNIN
from neuromfa.store.statements import cypher

EDGE_BATCH = 20_000


def _same_shape(model: ModelRecord, row: dict | None) -> None:
    """ConfigError when the stored Model ``row`` (None: none yet) has another shape."""
    if row is None:
        return
    stored = (row["arch"], row["hidden"], row["blocks"])
    if stored != (model.arch, model.hidden, model.blocks):
        raise ConfigError(
            f"model name {model.name!r} is already used by a {stored[0]} model "
            f"(hidden {stored[1]}, {stored[2]} blocks), not this {model.arch} "
            f"(hidden {model.hidden}, {model.blocks} blocks)",
            "ingest under another --name, or delete the stored model first",
        )


def check_model(store, model: ModelRecord) -> None:
    """Read-only: a stored Model of this name must have the same shape (nothing is written)."""
    rows = store.read(cypher("get_model"), name=model.name)
    _same_shape(model, rows[0] if rows else None)


def ensure_model(store, model: ModelRecord) -> None:
    """Create the Model now or check that the stored one has the same shape."""
    _same_shape(model, store.write(cypher("merge_model"), **model.model_dump())[0])


def graph_exists(store, gid: str) -> bool:
    return bool(store.read(cypher("graph_exists"), gid=gid))


def neuron_rows(snin: SNIN, gid: str) -> list[dict]:
    """One {uid, layer, kind, block, index, part} map per node, in node-position order
    (``part`` None for nodes fed by a whole weight matrix)."""
    layer = snin.layer.tolist()
    index = snin.index.tolist()
    kinds = np.asarray(KINDS, dtype=object)[snin.kind].tolist()
    parts = [None] * snin.n_nodes if snin.part is None else \
        np.asarray([p or None for p in PARTS], dtype=object)[snin.part].tolist()
    return [{"uid": neuron_uid(gid, l, i), "layer": l, "kind": k, "block": b, "index": i, "part": p}
            for l, i, k, b, p in zip(layer, index, kinds, snin.block.tolist(), parts)]


def synapse_rows(snin: SNIN, ids: np.ndarray, lo: int, hi: int) -> list[tuple]:
    """[source element id, target element id, w, d] for edges lo..hi (``ids``: element id per node)."""
    w = snin.w[lo:hi]
    d = 1.0 / np.abs(w)
    # tuples travel as Bolt lists; no per-edge Python work beyond zip
    return list(zip(ids[snin.src[lo:hi]].tolist(), ids[snin.dst[lo:hi]].tolist(), w.tolist(), d.tolist()))


def write_graph(
    store,
    checkpoint: CheckpointRecord,
    graph: GraphRecord,
    snin: SNIN,
    *,
    model: ModelRecord | None = None,
    on_edges: Callable[[int], None] | None = None,
) -> bool:
    """Store one SNIN. With ``model`` its Model is created (or its shape checked) in the same
    transaction; without, the Model must exist (see ``ensure_model``). Returns False (and
    writes nothing) when its gid is already stored."""
    if snin.n_edges == 0:
        raise ConfigError(f"graph {graph.gid} has no edges; nothing to store", "check the model and --neurons")
    if not np.all(np.isfinite(snin.w)) or np.any(snin.w == 0):
        raise ConfigError(f"graph {graph.gid} holds NaN, inf or zero weights", "ingest rejects these before writing")
    if graph_exists(store, graph.gid):
        return False
    try:
        with store.transaction() as tx:
            if model is not None:
                _same_shape(model, tx.run(cypher("merge_model"), **model.model_dump()).single())
            tx.run(cypher("merge_checkpoint"), **checkpoint.model_dump()).consume()
            created = tx.run(cypher("create_graph"), **graph.model_dump()).single()
            if created is None:
                raise DatabaseError(f"checkpoint {checkpoint.model}@{checkpoint.step} vanished during ingest")
            created_ids = tx.run(cypher("create_neurons"), gid=graph.gid, rows=neuron_rows(snin, graph.gid)).single()["ids"]
            ids = np.asarray(created_ids, dtype=object)
            for lo in range(0, snin.n_edges, EDGE_BATCH):
                hi = min(lo + EDGE_BATCH, snin.n_edges)
                tx.run(cypher("create_synapses"), rows=synapse_rows(snin, ids, lo, hi)).consume()
                if on_edges:
                    on_edges(hi - lo)
    except ConfigError:
        raise
    except Exception:
        # A concurrent ingest of the same gid wins on the Graph.gid constraint (servers report
        # that differently); anything else is a real failure, rolled back, and re-raised.
        if graph_exists(store, graph.gid):
            return False
        raise
    return True
