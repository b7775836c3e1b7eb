"""Layered box growing: the shortest-path masses by min-plus propagation over the layer DAG.

Nodes are grouped by layer position (schema/layers.py). Every edge joins two different layers,
and the layers with their edges form a DAG: in an ingested SNIN edges go from L to L + 1, and
in the faithful topology residual and parallel-MLP edges skip layers. The distance from a
source i to a node v of layer L is min over the predecessor layers K of L and their nodes u of
D_iu + d_uv. One pass over the layers in topological order carries, per layer, a "front" matrix
[active sources, nodes of the layer]: for each incoming transition K -> L the front of K is
pushed through that transition's dense distance matrix (min-plus product, batched with torch,
chunked to bound memory) and the nodes of K join as new sources (their rows are their
out-edge distances). Where several transitions enter L, their rows are merged per source by
an exact elementwise min. Entries above T are cut (inf), and sources with nothing left within
T drop out of that front. Cutting at T is exact because every edge has d >= 1: a path that has
left the box never comes back. A front is freed once every layer it feeds has been reached.

The recursion adds the same float64 numbers as Dijkstra (distance of the predecessor plus the
edge) and takes the same minimum, so the masses equal ``shortest_path`` exactly, not
approximately (tests/test_engine_layered.py checks this on random layer DAGs). Runs on the GPU
when torch sees one, else on the CPU.
"""

from __future__ import annotations

import heapq
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

NOT_LAYERED_HINT = "use mode 'shortest-path' for graphs whose layers do not form a DAG"


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
    same = layer[edges.dst] == layer[edges.src]
    if same.any():
        i = int(np.flatnonzero(same)[0])
        raise AnalysisError(
            f"layered mode needs every edge to join two different layers of a layer DAG; "
            f"{int(same.sum())} edges stay within one layer (e.g. {edges.src[i]} -> {edges.dst[i]}, "
            f"both in layer {layer[edges.src[i]]})",
            NOT_LAYERED_HINT,
        )


def _topological_order(pairs: np.ndarray, n_layers: int) -> list[int]:
    """Layers 0..n_layers-1 in topological order of the transitions ``pairs`` [P, 2] (source,
    destination layer). Kahn's algorithm taking the lowest ready layer first, so a graph whose
    edges all go to higher positions is processed in position order. AnalysisError on a cycle."""
    succ: list[list[int]] = [[] for _ in range(n_layers)]
    indegree = np.zeros(n_layers, dtype=np.int64)
    for a, b in pairs.tolist():
        succ[a].append(b)
        indegree[b] += 1
    ready = [int(L) for L in np.flatnonzero(indegree == 0)]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        L = heapq.heappop(ready)
        order.append(L)
        for M in succ[L]:
            indegree[M] -= 1
            if indegree[M] == 0:
                heapq.heappush(ready, M)
    if len(order) < n_layers:
        stuck = np.flatnonzero(indegree > 0)
        raise AnalysisError(
            f"layered mode needs the layers to form a DAG; the edges between layers "
            f"{', '.join(map(str, stuck[:5].tolist()))}{' ...' if len(stuck) > 5 else ''} form a cycle",
            NOT_LAYERED_HINT,
        )
    return order


def _transition_matrices(edges: list[Edges], rel: np.ndarray, local: np.ndarray,
                         sizes: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
    """Per transition (K, L) of relative layers: dense [draws, size_K, size_L] distances
    (inf = no edge; min over duplicates), one slice per edge set of ``edges``."""
    n_layers = len(sizes)
    mats: dict[tuple[int, int], np.ndarray] = {}
    for b, e in enumerate(edges):
        key = rel[e.src] * n_layers + rel[e.dst]
        order = np.argsort(key, kind="stable")
        keys, first = np.unique(key[order], return_index=True)
        bounds = np.append(first, len(order))
        for j, kl in enumerate(keys.tolist()):  # loop over transitions, not edges
            K, L = divmod(kl, n_layers)
            sel = order[bounds[j] : bounds[j + 1]]
            m = mats.setdefault((K, L), np.full((len(edges), sizes[K], sizes[L]), np.inf))
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


def _merge_sources(srcs: list[torch.Tensor], parts: list[torch.Tensor], overlap: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """One row per distinct source: the elementwise min of that source's rows in ``parts``
    ([draws, rows, b] each, rows labelled by ``srcs``). Min is exact, so no float changes.
    ``overlap``: several transitions enter the layer, so a source may come more than once (with
    one transition the front's sources and the new ones are disjoint)."""
    src = torch.cat(srcs) if len(srcs) > 1 else srcs[0]
    vals = torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
    if not overlap:
        return src, vals
    uniq, inverse = torch.unique(src, return_inverse=True)
    if len(uniq) == len(src):
        return src, vals
    merged = torch.full((vals.shape[0], len(uniq), vals.shape[2]), torch.inf, dtype=vals.dtype, device=vals.device)
    merged.scatter_reduce_(1, inverse[None, :, None].expand_as(vals), vals, reduce="amin")
    return uniq, merged


def _propagate(edges: list[Edges], layer: np.ndarray, threshold: float, bins: int, dev: torch.device) -> np.ndarray:
    chunk_cells = CHUNK_CELLS_GPU if dev.type == "cuda" else CHUNK_CELLS_CPU
    n, draws = edges[0].n_nodes, len(edges)
    positions, rel = np.unique(layer, return_inverse=True)  # relative layers 0..n_layers-1
    rel = rel.reshape(-1)
    sizes = np.bincount(rel, minlength=len(positions))
    by_layer = np.argsort(rel, kind="stable")  # node ids grouped by layer, ascending id
    starts = np.concatenate([[0], np.cumsum(sizes)])
    local = np.empty(n, dtype=np.int64)
    local[by_layer] = np.arange(n) - np.repeat(starts[:-1], sizes)
    mats = _transition_matrices(edges, rel, local, sizes)
    pairs = np.array(sorted(mats), dtype=np.int64).reshape(-1, 2)
    order = _topological_order(pairs, len(sizes))
    preds: dict[int, list[int]] = {}
    feeds = np.zeros(len(sizes), dtype=np.int64)  # transitions out of each layer not yet taken
    for K, L in pairs.tolist():
        preds.setdefault(L, []).append(K)
        feeds[K] += 1

    dump = draws * n * bins  # histogram slot for entries outside the box (dropped at the end)
    hist = torch.zeros(dump + 1, dtype=torch.int64, device=dev)
    offset = (torch.arange(draws, dtype=torch.int64, device=dev) * (n * bins))[:, None, None]
    node_ids = torch.from_numpy(by_layer).to(dev)
    fronts: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}  # layer -> (sources, [draws, sources, size])
    for L in order:
        if L not in preds:
            continue  # nothing enters L: its nodes are reached by no source
        parts: list[torch.Tensor] = []
        srcs: list[torch.Tensor] = []
        for K in preds[L]:
            m = torch.from_numpy(mats.pop((K, L))).to(dev)
            _, a, b = m.shape
            if K in fronts:
                front_src, front = fronts[K]
                rows = max(1, chunk_cells // max(draws * a * b, 1))
                parts += [(front[:, c : c + rows, :, None] + m[:, None]).amin(dim=2)
                          for c in range(0, len(front_src), rows)]
                srcs.append(front_src)
            # Layer K's own nodes start here: their distances to layer L are the edge distances.
            parts.append(m)
            srcs.append(node_ids[starts[K] : starts[K + 1]])
            feeds[K] -= 1
            if feeds[K] == 0:
                fronts.pop(K, None)  # every layer K feeds has been reached
        src, nxt = _merge_sources(srcs, parts, overlap=len(preds[L]) > 1)
        inside = nxt <= threshold  # the cut at T (inf compares False)
        r = torch.round(torch.where(inside, nxt, 0.0)).to(torch.int64)  # half to even, like numpy
        idx = torch.where(inside, offset + src[None, :, None] * bins + r, dump)
        hist.index_add_(0, idx.view(-1), torch.ones(idx.numel(), dtype=torch.int64, device=dev))
        alive = inside.any(dim=2).any(dim=0)  # a source stays while any draw still reaches something
        if feeds[L] and alive.any():
            fronts[L] = (src[alive], torch.where(inside, nxt, torch.inf)[:, alive])
    return hist[:dump].reshape(draws, n, bins).cpu().numpy()
