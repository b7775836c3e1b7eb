"""Layered box growing: the shortest-path masses by min-plus propagation over the layer DAG.

Every SNIN edge goes from a layer position L to L + 1 (schema/layers.py), so the distance
from a source i to a node v of layer L + 1 is min_u (D_iu + d_uv) over the nodes u of layer L.
One pass over the layers carries a "front" matrix [active sources, nodes of layer L]: it is
pushed through the dense distance matrix of the transition L -> L + 1 (min-plus product,
batched with torch, chunked to bound memory), the nodes of layer L join as new sources (their
rows are their out-edge distances), entries above T are cut (inf), and sources with nothing
left within T drop out. Cutting at T is exact because every edge has d >= 1: a path that has
left the box never comes back.

The recursion adds the same float64 numbers in the same order as Dijkstra (distance of the
predecessor plus the edge), so the masses equal ``shortest_path`` exactly, not approximately
(tests/test_engine_layered.py checks this on random layered graphs). Runs on the GPU when torch
sees one, else on the CPU.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

from neuromfa.analysis.band import Edges
from neuromfa.base.errors import AnalysisError

# Elements of the [rows, a, b] min-plus intermediate per chunk (float64). On the CPU 2 MiB
# temporaries were 2-3x faster than 32 MiB ones (cache) and than 0.5 MiB ones at k = 128
# (per-call overhead). On a GPU larger chunks (512 MiB) amortise kernel launches.
CHUNK_CELLS_CPU = 1 << 18
CHUNK_CELLS_GPU = 1 << 26
# torch intra-op threads on the CPU path. The per-layer ops are small (~10^5 elements): OpenMP
# threads gain little and, on a busy machine or beside other worker processes, their spin-waits
# made a 1.4B-shaped SNIN 10x slower (0.16 s with 1 thread vs 2.3 s with 2 on 2 busy cores).
CPU_THREADS = 1


@contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _check_layered(edges: Edges, layer: np.ndarray) -> None:
    bad = layer[edges.dst] != layer[edges.src] + 1
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise AnalysisError(
            f"layered mode needs every edge to go from layer L to L+1; {int(bad.sum())} edges do not "
            f"(e.g. {edges.src[i]} (layer {layer[edges.src[i]]}) -> {edges.dst[i]} (layer {layer[edges.dst[i]]}))",
            "use mode 'shortest-path' for graphs that are not layered",
        )


def _transition_matrices(edges: list[Edges], layer: np.ndarray, local: np.ndarray, sizes: np.ndarray, lmin: int) -> dict[int, np.ndarray]:
    """Per source layer L: dense [draws, size_L, size_L+1] distances (inf = no edge; min over
    duplicates), one slice per edge set of ``edges``."""
    mats: dict[int, np.ndarray] = {}
    for b, e in enumerate(edges):
        ls = layer[e.src] - lmin
        order = np.argsort(ls, kind="stable")
        bounds = np.searchsorted(ls[order], np.arange(len(sizes) + 1))
        for L in np.flatnonzero(np.diff(bounds)):  # loop over layers, not edges
            sel = order[bounds[L] : bounds[L + 1]]
            m = mats.setdefault(int(L), np.full((len(edges), sizes[L], sizes[L + 1]), np.inf))
            np.minimum.at(m[b], (local[e.src[sel]], local[e.dst[sel]]), e.d[sel])
    return mats


def layered_hist(edges: Edges, layer: np.ndarray, threshold: float, bins: int,
                 device: str | torch.device | None = None, threads: int | None = CPU_THREADS) -> np.ndarray:
    """hist[n_nodes, bins] (int64), equal to ``shortest_path.shortest_path_hist``.

    ``threads``: torch CPU threads during the call (None keeps torch's setting)."""
    hist: np.ndarray = layered_hists([edges], layer, threshold, bins, device, threads)[0]
    return hist


def layered_hists(
    edges: list[Edges],
    layer: np.ndarray,
    threshold: float,
    bins: int,
    device: str | torch.device | None = None,
    threads: int | None = CPU_THREADS,
) -> np.ndarray:
    """hist[draws, n_nodes, bins] for several edge sets over the same nodes (null draws),
    propagated together as one batch: each slice equals ``layered_hist`` of its edge set."""
    layer = np.asarray(layer, dtype=np.int64)
    for e in edges:
        _check_layered(e, layer)
    dev = torch.device(device) if device is not None else default_device()
    with _torch_threads(threads if dev.type == "cpu" else None):
        return _propagate(edges, layer, threshold, bins, dev)


def _propagate(edges: list[Edges], layer: np.ndarray, threshold: float, bins: int, dev: torch.device) -> np.ndarray:
    chunk_cells = CHUNK_CELLS_GPU if dev.type == "cuda" else CHUNK_CELLS_CPU
    n, draws = edges[0].n_nodes, len(edges)
    lmin = int(layer.min())
    rel = layer - lmin
    sizes = np.bincount(rel)
    if len(sizes) < 2:
        sizes = np.append(sizes, 0)
    by_layer = np.argsort(rel, kind="stable")  # node ids grouped by layer, ascending id
    starts = np.concatenate([[0], np.cumsum(sizes)])
    local = np.empty(n, dtype=np.int64)
    local[by_layer] = np.arange(n) - np.repeat(starts[:-1], sizes)
    mats = _transition_matrices(edges, layer, local, sizes, lmin)

    dump = draws * n * bins  # histogram slot for entries outside the box (dropped at the end)
    hist = torch.zeros(dump + 1, dtype=torch.int64, device=dev)
    offset = (torch.arange(draws, dtype=torch.int64, device=dev) * (n * bins))[:, None, None]
    front = torch.empty((draws, 0, int(sizes[0])), dtype=torch.float64, device=dev)
    front_src = torch.empty(0, dtype=torch.int64, device=dev)
    node_ids = torch.from_numpy(by_layer).to(dev)
    for L in range(len(sizes) - 1):
        m_np = mats.get(L)
        if m_np is None:
            front = torch.empty((draws, 0, int(sizes[L + 1])), dtype=torch.float64, device=dev)
            front_src = front_src[:0]
            continue
        m = torch.from_numpy(m_np).to(dev)
        _, a, b = m.shape
        # Layer L's own nodes start here: their distances to layer L+1 are the edge distances.
        parts, srcs = [m], [node_ids[starts[L] : starts[L + 1]]]
        if len(front_src):
            rows = max(1, chunk_cells // max(draws * a * b, 1))
            parts = [(front[:, c : c + rows, :, None] + m[:, None]).amin(dim=2)
                     for c in range(0, len(front_src), rows)] + parts
            srcs.insert(0, front_src)
        nxt = torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
        src = torch.cat(srcs) if len(srcs) > 1 else srcs[0]
        inside = nxt <= threshold  # the cut at T (inf compares False)
        r = torch.round(torch.where(inside, nxt, 0.0)).to(torch.int64)  # half to even, like numpy
        idx = torch.where(inside, offset + src[None, :, None] * bins + r, dump)
        hist.index_add_(0, idx.view(-1), torch.ones(idx.numel(), dtype=torch.int64, device=dev))
        alive = inside.any(dim=2).any(dim=0)  # a source stays while any draw still reaches something
        front = torch.where(inside, nxt, torch.inf)[:, alive]
        front_src = src[alive]
    return hist[:dump].reshape(draws, n, bins).cpu().numpy()
