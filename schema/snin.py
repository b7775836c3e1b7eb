"""The sampled neuron interaction network in memory: a node table and edge arrays.

Built by ingest (before writing) or pulled from the database (before analysis); the engine
works on this and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from neuromfa.schema.layers import KIND_CODE, KINDS, PART_CODE, PARTS, structural_pairs


def _part_codes(values: npt.ArrayLike) -> npt.NDArray[np.int8]:
    """Part names (None or "" for the whole matrix) or codes as int8 codes into PARTS."""
    part = np.asarray(values)
    if part.dtype.kind in "OUS":
        names = [p or "" for p in part.tolist()]
        unknown = set(names) - set(PART_CODE)
        if unknown:
            raise ValueError(f"unknown weight part(s) {sorted(unknown)}; expected one of {PARTS}")
        return np.array([PART_CODE[p] for p in names], dtype=np.int8)
    return part.astype(np.int8, copy=False)


def canonical_order(
    layer: npt.ArrayLike, kind: npt.ArrayLike, block: npt.ArrayLike, index: npt.ArrayLike, part: npt.ArrayLike,
    src: npt.ArrayLike, dst: npt.ArrayLike,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The canonical order of a graph, whatever order its rows came in: nodes by (layer, kind
    name, block, index, part name), synapses by (source, target) in that node order. Returns
    (order, src, dst, by_edge): the nodes are ``column[order]``, the synapses' renumbered ends
    ``src``/``dst`` and their other columns ``column[by_edge]``. Null draws follow the edge order,
    so every path to a SNIN (a pull from any server, an in-process build) uses this one."""
    order = np.lexsort((np.asarray(part), np.asarray(index), np.asarray(block), np.asarray(kind), np.asarray(layer)))
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    sources, targets = rank[np.asarray(src)], rank[np.asarray(dst)]
    by_edge = np.lexsort((targets, sources))
    return order, sources[by_edge], targets[by_edge], by_edge


@dataclass(frozen=True)
class SNIN:
    """Nodes are positions 0..n-1. Edges go src -> dst (forward through the layers).

    layer: int32 layer position (see schema.layers), kind: int8 code into KINDS,
    block: int32, index: int64 row/column index in the weight matrix it came from.
    w: float64 signed weight; structural edges (qkv -> context; in the faithful topology also
    the residual identity edges) carry w = 1.0 and structural=True.
    """

    layer: np.ndarray
    kind: np.ndarray
    block: np.ndarray
    index: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    w: np.ndarray
    structural: np.ndarray
    gid: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    part: np.ndarray | None = None  # int8 code into PARTS per node; None: not recorded (old graphs)

    def __post_init__(self) -> None:
        n = len(self.layer)
        for name in ("kind", "block", "index") + (("part",) if self.part is not None else ()):
            if len(getattr(self, name)) != n:
                raise ValueError(f"SNIN node column {name!r} has {len(getattr(self, name))} rows, expected {n}")
        m = len(self.src)
        for name in ("dst", "w", "structural"):
            if len(getattr(self, name)) != m:
                raise ValueError(f"SNIN edge column {name!r} has {len(getattr(self, name))} rows, expected {m}")
        if m and (self.src.min() < 0 or self.dst.min() < 0 or max(self.src.max(), self.dst.max()) >= n):
            raise ValueError("SNIN edge endpoints must be node positions 0..n-1")

    @property
    def n_nodes(self) -> int:
        return len(self.layer)

    @property
    def n_edges(self) -> int:
        return len(self.src)

    @property
    def d(self) -> npt.NDArray[np.float64]:
        """Edge distance 1/|w| (inf for a zero weight, which is no edge)."""
        with np.errstate(divide="ignore"):
            d: npt.NDArray[np.float64] = 1.0 / np.abs(self.w)
        return d

    @classmethod
    def from_columns(
        cls, *, layer: npt.ArrayLike, kind: npt.ArrayLike, block: npt.ArrayLike, index: npt.ArrayLike,
        src: npt.ArrayLike, dst: npt.ArrayLike, w: npt.ArrayLike, gid: str | None = None,
        meta: Mapping[str, Any] | None = None, part: npt.ArrayLike | None = None, topology: str = "reference",
    ) -> SNIN:
        """Build from plain columns; ``kind`` may be names or codes. Structural flags are derived
        from the endpoint kinds: qkv -> context, and in the ``faithful`` topology also the
        residual pairs (schema.layers.RESIDUAL_PAIRS)."""
        kinds = np.asarray(kind)
        if kinds.dtype.kind in "OUS":
            names, inverse = np.unique(kinds.astype(str), return_inverse=True)
            unknown = set(names) - set(KIND_CODE)
            if unknown:
                raise ValueError(f"unknown layer kind(s) {sorted(unknown)}; expected one of {KINDS}")
            kinds = np.array([KIND_CODE[k] for k in names], dtype=np.int8)[inverse]
        codes = kinds.astype(np.int8, copy=False)
        sources = np.asarray(src, dtype=np.int64)
        targets = np.asarray(dst, dtype=np.int64)
        structural = np.zeros(len(sources), bool)
        if len(sources):
            for a, b in structural_pairs(topology):
                structural |= (codes[sources] == KIND_CODE[a]) & (codes[targets] == KIND_CODE[b])
        return cls(
            layer=np.asarray(layer, dtype=np.int32),
            kind=codes,
            block=np.asarray(block, dtype=np.int32),
            index=np.asarray(index, dtype=np.int64),
            src=sources,
            dst=targets,
            w=np.asarray(w, dtype=np.float64),
            structural=np.asarray(structural, dtype=bool),
            gid=gid,
            meta=dict(meta or {}),
            part=None if part is None else _part_codes(part),
        )
