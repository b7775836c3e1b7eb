"""Llama-style decoders: q/k/v/o_proj with grouped KV heads, gated gate/up/down_proj MLP."""

from __future__ import annotations

from neuromfa.ingest.adapters.common import SplitQKVAdapter
from neuromfa.ingest.source import ModelConfig

LLAMA_TEMPLATES = {
    "q": "layers.{b}.self_attn.q_proj.weight",
    "k": "layers.{b}.self_attn.k_proj.weight",
    "v": "layers.{b}.self_attn.v_proj.weight",
    "o": "layers.{b}.self_attn.o_proj.weight",
    "gate": "layers.{b}.mlp.gate_proj.weight",
    "up": "layers.{b}.mlp.up_proj.weight",
    "down": "layers.{b}.mlp.down_proj.weight",
}

class LlamaAdapter(SplitQKVAdapter):
    """Llama, Mistral, Qwen2/3, SmolLM (sequential blocks)."""

    family = "llama"
    model_types = ("llama", "mistral", "qwen2", "qwen3")
    templates = LLAMA_TEMPLATES

class GemmaAdapter(SplitQKVAdapter):
    """Gemma 1, 2 and 3 (text): Llama's tensor names with an explicit head_dim. Gemma 2/3's extra
    norms (pre/post feed-forward, q/k norms) scale activations and are not edges."""

    family = "gemma"
    model_types = ("gemma", "gemma2", "gemma3_text")
    templates = LLAMA_TEMPLATES

class StableLmAdapter(SplitQKVAdapter):
    """StableLM (2): Llama's layout; parallel residual where ``use_parallel_residual`` is set."""

    family = "stablelm"
    model_types = ("stablelm",)
    templates = LLAMA_TEMPLATES

    @classmethod
    def residual_is_parallel(cls, config: ModelConfig) -> bool:
        return bool(config.get("use_parallel_residual", False))
