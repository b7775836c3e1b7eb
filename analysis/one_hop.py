"""One-hop box growing (the authors' code): N_i(r) = 1 + #{band successors j, round(d_ij) <= r}.

Works on the band edges from ``band.select_edges(..., structural="none")``. The result is a
per-node radius histogram ``hist[i, r]`` = number of band edges i -> j with round(d_ij) = r;
N_i(r) is 1 + its cumulative sum. An edge listed twice counts twice, as in the reference code
(SNINs from ingest have no duplicate edges).
"""

from __future__ import annotations

import numpy as np

from neuromfa.analysis.band import Edges


def one_hop_hist(edges: Edges, bins: int) -> np.ndarray:
    """hist[n_nodes, bins] (int64) of rounded (half to even) edge distances per source."""
    r = np.rint(edges.d).astype(np.int64)
    flat = edges.src * bins + r
    return np.bincount(flat, minlength=edges.n_nodes * bins).reshape(edges.n_nodes, bins)
