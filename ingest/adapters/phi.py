"""Microsoft Phi: phi-1/1.5/2 (separate q/k/v, dense, fc1/fc2; parallel blocks) and Phi-3
(fused qkv_proj [Q; K; V] with grouped KV heads and fused gate_up_proj [gate; up]; sequential)."""

from __future__ import annotations

import numpy as np

from neuromfa.base.errors import ModelError
from neuromfa.ingest.adapters.base import AttentionShape
from neuromfa.ingest.adapters.common import FusedQKVAdapter, QKVRows, SplitQKVAdapter
from neuromfa.ingest.source import TensorSource


class PhiAdapter(SplitQKVAdapter):
    """phi-1, phi-1.5, phi-2: one layer norm feeds attention and MLP (parallel residual)."""

    family = "phi"
    model_types = ("phi",)
    parallel = True
    templates = {
        "q": "layers.{b}.self_attn.q_proj.weight",
        "k": "layers.{b}.self_attn.k_proj.weight",
        "v": "layers.{b}.self_attn.v_proj.weight",
        "o": "layers.{b}.self_attn.dense.weight",
        "up": "layers.{b}.mlp.fc1.weight",
        "down": "layers.{b}.mlp.fc2.weight",
    }


class Phi3Adapter(FusedQKVAdapter):
    """Phi-3 / Phi-3.5 / Phi-4 (mini): qkv_proj rows [Q (A); K (kv); V (kv)], contiguous in the
    model too; gate_up_proj rows [gate; up] are mlp_hidden as they stand."""

    family = "phi3"
    model_types = ("phi3",)
    templates = {
        "qkv": "layers.{b}.self_attn.qkv_proj.weight",
        "o": "layers.{b}.self_attn.o_proj.weight",
        "gate_up": "layers.{b}.mlp.gate_up_proj.weight",
        "down": "layers.{b}.mlp.down_proj.weight",
    }

    def _fused_attention(self, source: TensorSource, fused: int) -> tuple[int, AttentionShape]:
        a = int(source.shape(self.name("o", 0))[1])  # o_proj [h, A]
        if fused <= a or (fused - a) % 2:
            raise ModelError(
                f"tensor {self.name('qkv', 0)!r} in {self.where} has {fused} rows, not [Q ({a}); K; V] with K and V alike",
                hint="the checkpoint does not match its architecture or is corrupt",
            )
        return a, self._attention(source.config, a, (fused - a) // 2, what="qkv_proj's K part")

    def qkv_rows(self, t: np.ndarray) -> QKVRows:
        a, kv = self.facts.sizes.attn, self.attention.kv_heads * self.attention.head_dim
        r = self.attention.kv_row(t)
        return t, a + r, a + kv + r
