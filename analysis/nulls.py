"""Null models of a stored SNIN: the same graph with its wiring destroyed, block by block.

- ``shuffle``: within each weight block (blocks.py), the signed learned weights are permuted
  among the block's edges; the multiset of values per block is exactly preserved.
- ``gaussian``: each block's learned weights are replaced by i.i.d. normal draws with the
  block's own mean and standard deviation (ddof 0).
Structural edges keep their weight. Draw j of graph g is seeded from (g, null kind, j), so it
always gives the same weights, whatever else ran before.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import get_args

import numpy as np

from neuromfa.analysis.blocks import NO_BLOCK, edge_blocks
from neuromfa.schema.params import NullKind
from neuromfa.schema.snin import SNIN

NULL_KINDS: tuple[NullKind, ...] = get_args(NullKind)


def null_seed(gid: str | None, kind: NullKind, draw: int) -> int:
    """The seed of draw ``draw`` of null ``kind`` for graph ``gid`` (stable across runs)."""
    digest = hashlib.sha256(f"{gid or ''}|{kind}|{draw}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def shuffled_weights(w: np.ndarray, blocks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``w`` with the values of each block permuted among its edges (NO_BLOCK edges kept)."""
    out = w.copy()
    learned = np.flatnonzero(blocks != NO_BLOCK)
    by_block = learned[np.argsort(blocks[learned], kind="stable")]
    bounds = np.searchsorted(blocks[by_block], np.arange(int(blocks.max()) + 2)) if len(learned) else [0]
    for lo, hi in zip(bounds[:-1], bounds[1:]):  # a loop over blocks, not edges
        edges = by_block[lo:hi]
        out[edges] = w[edges][rng.permutation(hi - lo)]
    return out


def gaussian_weights(w: np.ndarray, blocks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``w`` with each block's values replaced by normal draws of the block's mean and std."""
    out = w.copy()
    learned = blocks != NO_BLOCK
    b = blocks[learned]
    n = int(b.max()) + 1 if len(b) else 0
    count = np.maximum(np.bincount(b, minlength=n), 1)
    mean = np.bincount(b, weights=w[learned], minlength=n) / count
    var = np.bincount(b, weights=w[learned] ** 2, minlength=n) / count - mean**2
    std = np.sqrt(np.maximum(var, 0.0))
    out[learned] = mean[b] + std[b] * rng.standard_normal(len(b))
    return out


def null_snin(snin: SNIN, kind: NullKind, draw: int, blocks: np.ndarray | None = None) -> SNIN:
    """Draw ``draw`` of null model ``kind`` of ``snin`` (same nodes and edges, new weights)."""
    if kind not in NULL_KINDS:
        raise ValueError(f"unknown null model {kind!r}; expected one of {NULL_KINDS}")
    blocks = edge_blocks(snin) if blocks is None else blocks
    rng = np.random.default_rng(null_seed(snin.gid, kind, draw))
    make = shuffled_weights if kind == "shuffle" else gaussian_weights
    return dataclasses.replace(snin, w=make(snin.w, blocks, rng))
