"""Exact shortest-path box growing with igraph's Dijkstra (C routines).

N_i(r) = 1 + #{j != i : D_ij <= T and round(D_ij) <= r}, D_ij the weighted directed
shortest-path distance (sum of d along the path). A node belongs to the box at T when its
unrounded D_ij <= T, the same rule as the band on single edges (band.py); its radius is then
round(D_ij), half to even. Works on any directed graph (no layering needed); it is the
reference the ``layered`` mode must match exactly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from neuromfa.analysis.band import Edges

if TYPE_CHECKING:
    import igraph

# Distance rows per igraph call: bounds the Python list igraph returns to ~4M floats.
CELLS_PER_CHUNK = 4_000_000


def build_graph(edges: Edges) -> igraph.Graph:
    """The directed igraph graph of ``edges``."""
    import igraph  # imported here: igraph loads matplotlib, which the CLI does not need to start

    return igraph.Graph(n=edges.n_nodes, edges=np.column_stack([edges.src, edges.dst]), directed=True)


def shortest_path_hist(edges: Edges, threshold: float, bins: int) -> np.ndarray:
    """hist[n_nodes, bins] (int64): hist[i, r] = #{j != i : D_ij <= T, round(D_ij) = r}."""
    n = edges.n_nodes
    g = build_graph(edges)
    weights = edges.d.tolist()
    hist = np.zeros(n * bins, dtype=np.int64)
    # Only nodes with an out-edge can reach anything.
    sources = np.unique(edges.src)
    chunk = max(1, CELLS_PER_CHUNK // max(n, 1))
    for start in range(0, len(sources), chunk):
        rows = sources[start : start + chunk]
        dist = np.asarray(g.distances(source=rows.tolist(), weights=weights, mode="out", algorithm="dijkstra"))
        dist[np.arange(len(rows)), rows] = np.inf  # j != i
        ri, cj = np.nonzero(dist <= threshold)
        r = np.rint(dist[ri, cj]).astype(np.int64)
        hist += np.bincount(rows[ri] * bins + r, minlength=n * bins)
    return hist.reshape(n, bins)
