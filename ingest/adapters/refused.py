"""Families that do not fit the chain of layer kinds, refused with the reason.

Mixture-of-experts: a router picks a few experts per token, so a block has no single MLP whose
weights are the edges attn_out -> mlp_hidden -> next input. State-space (and other recurrent)
models: their blocks have no attention and no MLP, so there is no qkv, context or mlp_hidden to
sample. Multimodal wrappers (a ``text_config`` inside): the language model is what is read.
"""

from __future__ import annotations

from neuromfa.ingest.source import ModelConfig

MOE_REASON = ("a mixture-of-experts model: its router picks experts per token, so a block has no "
              "single MLP whose weights could be the mlp edges")
SSM_REASON = ("a state-space (or recurrent) model: its mixer blocks have no attention and no MLP, so "
              "there are no qkv, context or mlp_hidden neurons to sample")

MOE_TYPES: frozenset[str] = frozenset({
    "mixtral", "qwen2_moe", "qwen3_moe", "qwen3_next", "olmoe", "phimoe", "granitemoe", "granitemoeshared",
    "granitemoehybrid", "deepseek_v2", "deepseek_v3", "dbrx", "jamba", "jetmoe", "switch_transformers",
    "nllb_moe", "gpt_oss", "llama4", "llama4_text", "minimax", "ernie4_5_moe", "glm4_moe", "hunyuan_v1_moe",
    "dots1", "flex_olmo",
})
SSM_TYPES: frozenset[str] = frozenset({"mamba", "mamba2", "falcon_mamba", "falcon_h1", "bamba", "zamba", "zamba2", "rwkv", "xlstm"})
MULTIMODAL_REASON = ("a multimodal model (its config holds a text_config): neuromfa reads language models; "
                     "save its text model on its own (for Gemma 3: model_type gemma3_text) and ingest that")
# config keys that say "several experts per MLP" whatever the model_type
EXPERT_KEYS = ("num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts")


def refusal(model_type: str, config: ModelConfig) -> str | None:
    """Why ``model_type`` cannot be read as a chain of layer kinds, or None."""
    if model_type in SSM_TYPES:
        return SSM_REASON
    experts = next((config[k] for k in EXPERT_KEYS if isinstance(config.get(k), int)), None)
    if model_type in MOE_TYPES or (experts is not None and experts > 1):
        return MOE_REASON
    if isinstance(config.get("text_config"), dict):
        return MULTIMODAL_REASON
    return None
