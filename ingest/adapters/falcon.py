"""TII Falcon: one fused query_key_value in one of three layouts (transformers'
``FalconAttention._split_heads``), head_dim = hidden / heads:

- ``new_decoder_architecture`` (Falcon-40B/180B, grouped KV): per KV group g, the group's
  query heads then its K head then its V head, [(group + 2) * head_dim] rows each;
- ``multi_query`` (Falcon-7B): [Q (hidden); K (head_dim); V (head_dim)], one KV head;
- otherwise (Falcon-RW, multi-head): [h0: q k v | h1: q k v ...], interleaved per head like
  GPT-NeoX, which the reference topology reads as [Q; K; V] as it does GPT-NeoX's.

Parallel residual with ``parallel_attn`` or ``new_decoder_architecture``.
"""

from __future__ import annotations

import numpy as np

from neuromfa.base.errors import ModelError
from neuromfa.ingest.adapters.base import AttentionShape, config_value
from neuromfa.ingest.adapters.common import FusedQKVAdapter, QKVRows, per_head_rows
from neuromfa.ingest.source import ModelConfig, TensorSource


class FalconAdapter(FusedQKVAdapter):
    family = "falcon"
    model_types = ("falcon",)
    templates = {
        "qkv": "h.{b}.self_attention.query_key_value.weight",
        "o": "h.{b}.self_attention.dense.weight",
        "up": "h.{b}.mlp.dense_h_to_4h.weight",
        "down": "h.{b}.mlp.dense_4h_to_h.weight",
    }
    layout: str  # "grouped", "multi_query" or "per_head"

    @classmethod
    def residual_is_parallel(cls, config: ModelConfig) -> bool:
        return bool(config.get("new_decoder_architecture", False) or config.get("parallel_attn", True))

    def _fused_attention(self, source: TensorSource, fused: int) -> tuple[int, AttentionShape]:
        cfg = source.config
        a = int(source.shape(self.name("o", 0))[1])  # dense [h, h]
        heads = config_value(cfg, *self.heads_keys)
        if not isinstance(heads, int) or heads < 1 or a % heads:
            raise ModelError(f"{self.where}: num_attention_heads = {heads} does not divide the hidden size {a}",
                             hint="restore the model's config.json")
        d = a // heads
        if cfg.get("new_decoder_architecture", False):
            self.layout, kv = "grouped", config_value(cfg, "num_kv_heads", "n_head_kv", default=heads)
        elif cfg.get("multi_query", True):
            self.layout, kv = "multi_query", 1
        else:
            self.layout, kv = "per_head", heads
        if not isinstance(kv, int) or kv < 1 or heads % kv or fused != (heads + 2 * kv) * d:
            raise ModelError(
                f"tensor {self.name('qkv', 0)!r} in {self.where} has {fused} rows; the {self.layout} layout of "
                f"{heads} heads of {d} with {kv} KV heads needs {(heads + 2 * int(kv or 0)) * d}",
                hint="restore the model's config.json (new_decoder_architecture, multi_query, num_kv_heads)",
            )
        return a, AttentionShape(heads, kv, d)

    def true_qkv_rows(self, t: np.ndarray) -> QKVRows:
        att = self.attention
        d, j = att.head_dim, t % att.head_dim
        if self.layout == "per_head":
            return per_head_rows(att, t)
        if self.layout == "multi_query":
            a = att.heads * d
            return t, a + j, a + d + j
        group, head = att.group, t // d
        base = (head // group) * (group + 2) * d
        return base + (head % group) * d + j, base + group * d + j, base + (group + 1) * d + j

    def qkv_rows(self, t: np.ndarray) -> QKVRows:
        # only the multi-head layout has a [3A, h] projection to read as [Q; K; V]
        return super().qkv_rows(t) if self.layout == "per_head" else self.true_qkv_rows(t)
