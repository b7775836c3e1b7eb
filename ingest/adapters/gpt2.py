"""GPT-2: Conv1D weights [in, out]; c_attn [h, 3h] holds [Q | K | V] along the output dim."""

from __future__ import annotations

from neuromfa.ingest.adapters.common import FusedQKVAdapter


class GPT2Adapter(FusedQKVAdapter):
    """GPT-2 (sequential blocks). c_attn's output really is contiguous [Q | K | V]."""

    family = "gpt2"
    model_types = ("gpt2",)
    conv1d = True
    templates = {
        "qkv": "h.{b}.attn.c_attn.weight",
        "o": "h.{b}.attn.c_proj.weight",
        "up": "h.{b}.mlp.c_fc.weight",
        "down": "h.{b}.mlp.c_proj.weight",
    }
