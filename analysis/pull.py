"""Pull one stored SNIN from the database into memory (columnar, no per-edge Python loop)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from neuromfa.base.errors import AnalysisError, NotFoundError
from neuromfa.schema.records import GraphRecord
from neuromfa.schema.snin import SNIN
from neuromfa.store.statements import cypher


def get_graph(store, gid: str) -> GraphRecord:
    rows = store.read(cypher("get_graph"), gid=gid)
    if not rows:
        raise NotFoundError(f"no graph with gid {gid!r}", "list stored graphs with `neuromfa graphs`")
    return GraphRecord(**rows[0])


def pull_snin(store, gid: str) -> SNIN:
    """The SNIN stored under ``gid``, nodes in stored order."""
    graph = get_graph(store, gid)
    nodes = store.read(cypher("pull_nodes"), gid=gid)[0]
    edges = store.read(cypher("pull_edges"), gid=gid)[0]
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
    return SNIN.from_columns(
        layer=nodes["layer"], kind=np.asarray(nodes["kind"], dtype=object), block=nodes["block"],
        index=nodes["index"], src=src, dst=dst, w=edges["w"], gid=gid, meta=graph.model_dump(),
        part=parts if parts.astype(bool).any() else None,  # None: stored before parts were
    )
