"""GPT-NeoX / Pythia: fused query_key_value [3h, h], interleaved per head in the model."""

from __future__ import annotations

import numpy as np

from neuromfa.ingest.adapters.common import FusedQKVAdapter, QKVRows, per_head_rows
from neuromfa.ingest.source import ModelConfig


class GPTNeoXAdapter(FusedQKVAdapter):
    """The reference topology reads query_key_value as [Q; K; V] (the paper's reading); the model
    interleaves it per head (``true_qkv_rows``). Parallel residual unless
    ``use_parallel_residual`` is false."""

    family = "gpt_neox"
    model_types = ("gpt_neox",)
    templates = {
        "qkv": "layers.{b}.attention.query_key_value.weight",
        "o": "layers.{b}.attention.dense.weight",
        "up": "layers.{b}.mlp.dense_h_to_4h.weight",
        "down": "layers.{b}.mlp.dense_4h_to_h.weight",
    }

    @classmethod
    def residual_is_parallel(cls, config: ModelConfig) -> bool:
        return bool(config.get("use_parallel_residual", True))

    def true_qkv_rows(self, t: np.ndarray) -> QKVRows:
        return per_head_rows(self.attention, t)
