"""Pythia-shaped SNINs from random weights (reference topology, docs/method.md sections 1-2).

Each sampled weight is drawn i.i.d. from N(0, std) - the distribution of the sampled rows and
columns of an initialised model - so no model file is needed. Node order and edge layout are
those of the reference topology: per block input (k), qkv (3k: Q, K, V rows), context (k),
attn_out (k), mlp_hidden (2k); then the final output layer (k).
"""

from __future__ import annotations

import numpy as np

from neuromfa.schema.layers import KIND_CODE
from neuromfa.schema.snin import SNIN

SHAPES = {"pythia-160m": (768, 12), "pythia-1.4b": (2048, 24)}


def _dense(a: np.ndarray, b: np.ndarray, rng: np.random.Generator, std: float):
    s, d = np.meshgrid(a, b, indexing="ij")
    return s.ravel(), d.ravel(), rng.normal(0.0, std, s.size)


def pythia_like_snin(hidden: int, blocks: int, k: int = 32, seed: int = 0, std: float = 0.02) -> SNIN:
    rng = np.random.default_rng(seed)
    sizes = {"input": k, "qkv": 3 * k, "context": k, "attn_out": k, "mlp_hidden": 2 * k}
    layer, kind, block, index = [], [], [], []
    pos = 0
    ids = []
    for b in range(blocks):
        per = {}
        for name, size in sizes.items():
            per[name] = np.arange(pos, pos + size)
            pos += size
            layer.append(np.full(size, 5 * b + KIND_CODE[name]))
            kind.append(np.full(size, KIND_CODE[name]))
            block.append(np.full(size, b))
            hi = 4 * hidden if name == "mlp_hidden" else hidden
            if name == "qkv":
                t = rng.choice(hidden, k, replace=False)
                index.append(np.concatenate([t, t + hidden, t + 2 * hidden]))
            else:
                index.append(rng.choice(hi, size, replace=False))
        ids.append(per)
    out = np.arange(pos, pos + k)
    layer.append(np.full(k, 5 * blocks)), kind.append(np.full(k, KIND_CODE["output"]))
    block.append(np.full(k, blocks - 1)), index.append(rng.choice(hidden, k, replace=False))
    parts = []
    for b, per in enumerate(ids):
        nxt = ids[b + 1]["input"] if b + 1 < blocks else out
        parts.append(_dense(per["input"], per["qkv"], rng, std))
        q_rows, kv_rows = per["qkv"][:k], per["qkv"][k:]
        s, d = np.meshgrid(kv_rows, per["context"], indexing="ij")
        parts.append((np.concatenate([q_rows, s.ravel()]), np.concatenate([per["context"], d.ravel()]), np.ones(k + s.size)))
        parts.append(_dense(per["context"], per["attn_out"], rng, std))
        parts.append(_dense(per["attn_out"], per["mlp_hidden"], rng, std))
        parts.append(_dense(per["mlp_hidden"], nxt, rng, std))
    src, dst, w = (np.concatenate(c) for c in zip(*parts))
    cat = np.concatenate
    return SNIN.from_columns(layer=cat(layer), kind=cat(kind), block=cat(block), index=cat(index), src=src, dst=dst, w=w,
                             gid=f"synthetic-h{hidden}-b{blocks}-k{k}-s{seed}")
