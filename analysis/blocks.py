"""Weight blocks of a SNIN: which learned edges come from one weight matrix (docs/method.md, section 5).

A weight block is the set of learned edges from one weight matrix, or from one part of a fused
matrix as the topology reads it (the Q, K or V rows of a fused qkv; the gate or up rows of a
fused gate/up), between one source layer and one destination layer. The part is a property of
the destination neuron (ingest stores it as ``Neuron.part``), so an edge's block is
(source layer, destination layer, destination part). Structural edges belong to no block.

Graphs ingested before parts were recorded have ``snin.part is None``: their qkv parts are
derived from the qkv neurons' indices (ingest lays them out as t, t + A, t + 2A, so the lowest
third is Q, the middle K, the top V); other layers are then read as whole matrices (a Llama
gate/up MLP counts as one block for such graphs).
"""

from __future__ import annotations

import numpy as np

from neuromfa.schema.layers import KIND_CODE, PART_CODE
from neuromfa.schema.snin import SNIN

NO_BLOCK = -1


def node_parts(snin: SNIN) -> np.ndarray:
    """int8 part code per node: the stored one, else derived for qkv nodes (module docstring)."""
    if snin.part is not None:
        return snin.part
    part = np.zeros(snin.n_nodes, dtype=np.int8)
    qkv = snin.kind == KIND_CODE["qkv"]
    for layer in np.unique(snin.layer[qkv]):
        nodes = np.flatnonzero(qkv & (snin.layer == layer))
        ranked = nodes[np.argsort(snin.index[nodes], kind="stable")]
        thirds = np.array_split(ranked, 3)
        for code, chunk in zip((PART_CODE["q"], PART_CODE["k"], PART_CODE["v"]), thirds):
            part[chunk] = code
    return part


def edge_blocks(snin: SNIN) -> np.ndarray:
    """Block id per edge (0 .. n_blocks - 1, in order of (source layer, destination layer,
    part)); NO_BLOCK for structural edges."""
    part = node_parts(snin).astype(np.int64)
    key = (snin.layer[snin.src].astype(np.int64) << 32) | (snin.layer[snin.dst].astype(np.int64) << 8) | part[snin.dst]
    learned = ~snin.structural
    blocks = np.full(snin.n_edges, NO_BLOCK, dtype=np.int64)
    if learned.any():
        _, blocks[learned] = np.unique(key[learned], return_inverse=True)
    return blocks


def block_rms(w: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    """Root mean square of the weights of each block (index = block id)."""
    learned = blocks != NO_BLOCK
    n = int(blocks[learned].max()) + 1 if learned.any() else 0
    count = np.bincount(blocks[learned], minlength=n)
    square = np.bincount(blocks[learned], weights=w[learned] ** 2, minlength=n)
    return np.sqrt(square / np.maximum(count, 1))
