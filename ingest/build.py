"""Build one SNIN (docs/method.md sections 1-2) from a checkpoint, an adapter and the draws.

Node positions are laid out block by block, each block
``input (k) | qkv (3k: Q t.., K t.., V t..) | context (k) | attn_out (k) | mlp_hidden (2k)``,
then the final ``output`` layer (k); block b+1's input nodes are block b's mlp_out targets.
Node ``index`` is the row/column index in the weight matrix: qkv nodes t, t+A, t+2A
(A the query width), context t, mlp_hidden its row in the MLP hidden layer.
Learned edges carry the signed weight (float64); an exact zero is no edge (docs/method.md) and is
dropped, and counted in ``meta["zero_weights"]``.

Two topologies (``topology``), over the same neurons (the same draws give the same input,
attn_out, mlp_hidden and output nodes):

- ``reference`` (the authors' reading): a fused qkv is read as [Q; K; V]; structural
  qkv -> context edges (w = 1) are Q row t -> context t and every K and V node -> every context
  node; the MLP reads attn_out; no residual connections.
- ``faithful`` (the network as the model computes it): the qkv rows are those attention uses
  for t (GPT-NeoX and multi-head Falcon interleave them per head; the qkv node index is then
  the row of the fused matrix); attention stays within a head: V(h, j) -> context(h, j), and
  the Q and K nodes of head h -> every context node of head h; residual identity edges (w = 1)
  input(i) -> next input(i) and attn_out(i) -> next input(i) (the attention sum). A
  sequential block's MLP reads the attention sum, so attn_out(i) is the stream after
  attention there (input(i) -> attn_out(i)) and feeds mlp_hidden; a parallel-residual block's
  MLP reads the block input (input -> mlp_hidden). Identity edges join the same index i, so
  they exist where both layers' draws hold i.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neuromfa.base.errors import ConfigError, param
from neuromfa.ingest.adapters import Adapter, FusedQKVAdapter, adapter_for
from neuromfa.ingest.readers import open_model
from neuromfa.ingest.sampler import Draws, draws_for_sample
from neuromfa.ingest.source import TensorSource
from neuromfa.schema.layers import KIND_CODE, PART_CODE, layer_position
from neuromfa.schema.records import TOPOLOGIES, Topology
from neuromfa.schema.snin import SNIN


def _dense(src_pos: np.ndarray, dst_pos: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edges of a weight block ``m[out, in]``: every (in a -> out b) pair, zeros dropped."""
    dst, src = np.meshgrid(dst_pos, src_pos, indexing="ij")
    keep = m != 0.0
    return src[keep], dst[keep], m[keep]


def _check_draws(adapter: Adapter, draws: Draws) -> None:
    f = adapter.facts
    if draws.sizes != f.sizes or draws.blocks != f.blocks:
        raise ConfigError(
            f"the draws were made for {draws.blocks} blocks with layer sizes {draws.sizes}, "
            f"but this checkpoint has {f.blocks} blocks with {f.sizes}",
            hint="every checkpoint of a model must share its architecture; draw again for this model",
        )


def check_topology(topology: str) -> Topology:
    """``topology`` as a Topology, or a ConfigError naming the choices."""
    for known in TOPOLOGIES:
        if topology == known:
            return known
    raise ConfigError(f"unknown {param('topology')} {topology!r}", f"use one of: {', '.join(TOPOLOGIES)}", param="topology")


def qkv_index(adapter: Adapter, t: np.ndarray, topology: Topology) -> np.ndarray:
    """Node indices of the Q, K and V nodes of query indices t (3k: Q t.., K t.., V t..).

    t, t + A, t + 2A (rows of [Q; K_rep; V_rep], K and V repeated per query head as attention
    uses them), except in the faithful topology of a fused multi-head projection, whose rows
    are one per node: there the index is the row of the fused matrix attention uses."""
    a = adapter.facts.sizes.attn
    att = getattr(adapter, "attention", None)
    if topology == "faithful" and isinstance(adapter, FusedQKVAdapter) and att is not None and att.kv_heads == att.heads:
        return np.concatenate(adapter.true_qkv_rows(t)).astype(np.int64)
    return np.concatenate([t, t + a, t + 2 * a])


def _head_dim(adapter: Adapter) -> int:
    att = getattr(adapter, "attention", None)
    if att is None:
        raise ConfigError(f"the {adapter.family} adapter declares no attention heads, which {param('topology', 'faithful')} needs",
                          f"ingest this model with {param('topology', 'reference')}", param="topology")
    return int(att.head_dim)


def _identity(src_pos: np.ndarray, src_idx: np.ndarray, dst_pos: np.ndarray, dst_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Residual identity edges i -> i between two layers: where both draws hold index i."""
    _, a, b = np.intersect1d(src_idx, dst_idx, assume_unique=True, return_indices=True)
    return src_pos[a], dst_pos[b]


def build_snin(source: TensorSource, adapter: Adapter, draws: Draws, gid: str | None = None,
               topology: Topology = "reference") -> SNIN:
    """The SNIN of ``draws`` over the weights in ``source`` (read through ``adapter``), in
    ``topology`` (module docstring)."""
    _check_draws(adapter, draws)
    topology = check_topology(topology)
    faithful = topology == "faithful"
    head_dim = _head_dim(adapter) if faithful else 0
    parallel = bool(getattr(adapter.facts, "parallel_residual", False))
    k, blocks = draws.k, draws.blocks
    per_block = 8 * k
    n = blocks * per_block + k

    layer = np.empty(n, np.int32)
    kind = np.empty(n, np.int8)
    block = np.empty(n, np.int32)
    index = np.empty(n, np.int64)
    part = np.zeros(n, np.int8)  # weight part feeding each node (schema.layers.PARTS)

    def put(start: int, kind_name: str, b: int, idx: np.ndarray) -> np.ndarray:
        stop = start + len(idx)
        layer[start:stop] = layer_position(kind_name, b, blocks)
        kind[start:stop] = KIND_CODE[kind_name]
        block[start:stop] = b
        index[start:stop] = idx
        return np.arange(start, stop, dtype=np.int64)

    srcs, dsts, ws, structs = [], [], [], []
    zeros = 0

    def add(s: np.ndarray, d: np.ndarray, w: np.ndarray, structural: bool = False) -> None:
        srcs.append(s)
        dsts.append(d)
        ws.append(w)
        structs.append(np.full(len(s), structural))

    def learned(src_pos: np.ndarray, dst_pos: np.ndarray, m: np.ndarray) -> None:
        nonlocal zeros
        s, d, w = _dense(src_pos, dst_pos, m)
        zeros += m.size - len(w)
        add(s, d, w)

    def residual(src_pos: np.ndarray, src_idx: np.ndarray, dst_pos: np.ndarray, dst_idx: np.ndarray) -> None:
        s, d = _identity(src_pos, src_idx, dst_pos, dst_idx)
        add(s, d, np.ones(len(s)), structural=True)

    # node positions first, so each block can address the next block's input
    pos = []
    for b in range(blocks):
        base = b * per_block
        t = draws.qkv_t[b]
        pos.append(
            {
                "input": put(base, "input", b, draws.input[b]),
                "qkv": put(base + k, "qkv", b, qkv_index(adapter, t, topology)),
                "context": put(base + 4 * k, "context", b, t),
                "attn_out": put(base + 5 * k, "attn_out", b, draws.attn_out[b]),
                "mlp_hidden": put(base + 6 * k, "mlp_hidden", b, draws.mlp_hidden[b]),
            }
        )
        part[pos[b]["qkv"]] = np.repeat([PART_CODE["q"], PART_CODE["k"], PART_CODE["v"]], k)
        part[pos[b]["mlp_hidden"]] = adapter.hidden_parts(draws.mlp_hidden[b])
    out_pos = put(blocks * per_block, "output", blocks - 1, draws.output)

    for b in range(blocks):
        p, t = pos[b], draws.qkv_t[b]
        nxt = pos[b + 1]["input"] if b + 1 < blocks else out_pos
        nxt_idx = draws.mlp_out(b)
        q, kv, ctx = p["qkv"][:k], p["qkv"][k:], p["context"]
        if not faithful:
            learned(p["input"], p["qkv"], adapter.input_qkv(source, b, draws.input[b], t))
            # structural: Q row t -> context t; K and V rows -> every context node
            kv_src, kv_dst = np.meshgrid(kv, ctx, indexing="ij")
            s = np.concatenate([q, kv_src.ravel()])
            add(s, np.concatenate([ctx, kv_dst.ravel()]), np.ones(len(s)), structural=True)
            learned(ctx, p["attn_out"], adapter.context_attn_out(source, b, t, draws.attn_out[b]))
            learned(p["attn_out"], p["mlp_hidden"], adapter.attn_out_mlp(source, b, draws.attn_out[b], draws.mlp_hidden[b]))
            learned(p["mlp_hidden"], nxt, adapter.mlp_down(source, b, draws.mlp_hidden[b], nxt_idx))
            continue
        learned(p["input"], p["qkv"], adapter.input_qkv(source, b, draws.input[b], t, faithful=True))
        # structural, within a head: V(h, j) -> context(h, j); Q and K of head h -> context of head h
        head = t // head_dim
        qi, ci = np.nonzero(head[:, None] == head[None, :])
        s = np.concatenate([q[qi], kv[:k][qi], kv[k:]])
        add(s, np.concatenate([ctx[ci], ctx[ci], ctx]), np.ones(len(s)), structural=True)
        learned(ctx, p["attn_out"], adapter.context_attn_out(source, b, t, draws.attn_out[b]))
        if parallel:  # x + attn(x) + mlp(x): the MLP reads the block input
            mlp_in, mlp_idx = p["input"], draws.input[b]
        else:  # x' = x + attn(x), x' + mlp(x'): attn_out is the attention sum
            residual(p["input"], draws.input[b], p["attn_out"], draws.attn_out[b])
            mlp_in, mlp_idx = p["attn_out"], draws.attn_out[b]
        learned(mlp_in, p["mlp_hidden"], adapter.attn_out_mlp(source, b, mlp_idx, draws.mlp_hidden[b]))
        learned(p["mlp_hidden"], nxt, adapter.mlp_down(source, b, draws.mlp_hidden[b], nxt_idx))
        residual(p["input"], draws.input[b], nxt, nxt_idx)
        residual(p["attn_out"], draws.attn_out[b], nxt, nxt_idx)

    meta = {
        **adapter.facts.as_dict(),
        "source": str(source.path),
        "format": source.format,
        "k": k,
        "topology": topology,
        "seed": draws.seed,
        "sample": draws.sample,
        "draws": draws.as_dict(),
        "zero_weights": zeros,
    }
    return SNIN(
        layer=layer,
        kind=kind,
        block=block,
        index=index,
        src=np.concatenate(srcs).astype(np.int64, copy=False),
        dst=np.concatenate(dsts).astype(np.int64, copy=False),
        w=np.concatenate(ws).astype(np.float64, copy=False),
        structural=np.concatenate(structs),
        gid=gid,
        meta=meta,
        part=part,
    )


def snin_for_checkpoint(
    path: str | Path, *, sample: int, k: int = 32, seed_base: int = 0, gid: str | None = None,
    topology: Topology = "reference",
) -> SNIN:
    """Open one checkpoint, draw sample ``sample`` (seed ``seed_base + sample``) and build it."""
    with open_model(path) as source:
        adapter = adapter_for(source)
        draws = draws_for_sample(adapter.facts.sizes, adapter.facts.blocks, sample=sample, k=k, seed_base=seed_base)
        return build_snin(source, adapter, draws, gid=gid, topology=topology)
