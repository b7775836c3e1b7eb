"""Meta OPT decoders: q/k/v_proj, out_proj, fc1/fc2 (sequential blocks)."""

from __future__ import annotations

from neuromfa.ingest.adapters.common import SplitQKVAdapter


class OPTAdapter(SplitQKVAdapter):
    """OPT (decoder.layers.*). OPT-350m's project_in/project_out sit outside the blocks."""

    family = "opt"
    model_types = ("opt",)
    hidden_keys = ("hidden_size",)
    templates = {
        "q": "layers.{b}.self_attn.q_proj.weight",
        "k": "layers.{b}.self_attn.k_proj.weight",
        "v": "layers.{b}.self_attn.v_proj.weight",
        "o": "layers.{b}.self_attn.out_proj.weight",
        "up": "layers.{b}.fc1.weight",
        "down": "layers.{b}.fc2.weight",
    }
