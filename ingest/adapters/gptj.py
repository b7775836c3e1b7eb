"""EleutherAI GPT-J: q/k/v_proj, out_proj, fc_in/fc_out; attention and MLP both read ln_1's
output (parallel residual)."""

from __future__ import annotations

from neuromfa.ingest.adapters.common import SplitQKVAdapter


class GPTJAdapter(SplitQKVAdapter):
    family = "gptj"
    model_types = ("gptj",)
    parallel = True
    templates = {
        "q": "h.{b}.attn.q_proj.weight",
        "k": "h.{b}.attn.k_proj.weight",
        "v": "h.{b}.attn.v_proj.weight",
        "o": "h.{b}.attn.out_proj.weight",
        "up": "h.{b}.mlp.fc_in.weight",
        "down": "h.{b}.mlp.fc_out.weight",
    }
