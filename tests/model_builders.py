"""Tiny real checkpoints built offline from transformers configs (fixed seeds), their outputs,
and a whole-network weight scaling the null-model tests apply to them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import transformers as tf

CONFIGS = {
    "llama": lambda: tf.LlamaConfig(**LLAMA),
    "gpt_neox": lambda: tf.GPTNeoXConfig(**NEOX),
    "gpt2": lambda: tf.GPT2Config(n_embd=48, n_layer=2, n_head=4, vocab_size=64, n_positions=32),
    "bert": lambda: tf.BertConfig(hidden_size=48, num_hidden_layers=2, num_attention_heads=4,
                                  intermediate_size=96, vocab_size=64, max_position_embeddings=32),
}
LLAMA = dict(hidden_size=48, intermediate_size=80, num_hidden_layers=2, num_attention_heads=6,
             num_key_value_heads=2, vocab_size=64, max_position_embeddings=32)
NEOX = dict(hidden_size=48, num_hidden_layers=2, num_attention_heads=4, intermediate_size=192,
            vocab_size=64, max_position_embeddings=32)

# The families added by issue #15, each as small as its config allows (hidden 48, 2 blocks,
# vocab 64), with grouped KV heads where the family has them. name -> config.
_SMALL = dict(hidden_size=48, num_hidden_layers=2, vocab_size=64, max_position_embeddings=32)
_GQA = dict(_SMALL, intermediate_size=80, num_attention_heads=4, num_key_value_heads=2)
FAMILY_CONFIGS = {
    "gemma": lambda: tf.GemmaConfig(**_GQA, head_dim=16),
    "gemma2": lambda: tf.Gemma2Config(**_GQA, head_dim=16),
    "gemma3_text": lambda: tf.Gemma3TextConfig(**_GQA, head_dim=16),
    "phi": lambda: tf.PhiConfig(**_SMALL, intermediate_size=96, num_attention_heads=4),
    "phi3": lambda: tf.Phi3Config(**_GQA, pad_token_id=0),
    "opt": lambda: tf.OPTConfig(**_SMALL, ffn_dim=96, num_attention_heads=4, word_embed_proj_dim=48),
    "gptj": lambda: tf.GPTJConfig(n_embd=48, n_layer=2, n_head=4, vocab_size=64, n_positions=32, rotary_dim=8),
    # Falcon's three query_key_value layouts
    "falcon-grouped": lambda: tf.FalconConfig(hidden_size=48, num_hidden_layers=2, num_attention_heads=4, num_kv_heads=2,
                                              new_decoder_architecture=True, vocab_size=64),
    "falcon-multi-query": lambda: tf.FalconConfig(hidden_size=48, num_hidden_layers=2, num_attention_heads=4,
                                                  multi_query=True, parallel_attn=True, vocab_size=64),
    "falcon-per-head": lambda: tf.FalconConfig(hidden_size=48, num_hidden_layers=2, num_attention_heads=4, multi_query=False,
                                               parallel_attn=False, vocab_size=64),
    # rotary over half of each 12-wide head (the default quarter is 3 dims, which rotary cannot split)
    "stablelm": lambda: tf.StableLmConfig(**_GQA, partial_rotary_factor=0.5),
    "stablelm-parallel": lambda: tf.StableLmConfig(**_GQA, partial_rotary_factor=0.5, use_parallel_residual=True),
}
# refused families (mixture-of-experts, state-space): tiny, to show the refusal on real files
REFUSED_CONFIGS = {
    "mixtral": lambda: tf.MixtralConfig(**_GQA, num_local_experts=2, num_experts_per_tok=1),
    "qwen2_moe": lambda: tf.Qwen2MoeConfig(**_GQA, moe_intermediate_size=16, shared_expert_intermediate_size=16,
                                           num_experts=2, num_experts_per_tok=1),
    "mamba": lambda: tf.MambaConfig(hidden_size=16, num_hidden_layers=2, vocab_size=64, state_size=4),
}


def family_model(name: str, seed: int = 0):
    """A tiny causal LM of one of FAMILY_CONFIGS or REFUSED_CONFIGS, fixed seed."""
    config = {**FAMILY_CONFIGS, **REFUSED_CONFIGS}[name]()
    torch.manual_seed(seed)
    return tf.AutoModelForCausalLM.from_config(config).eval()


def tiny_model(family: str, seed: int = 0):
    torch.manual_seed(seed)
    config = CONFIGS["gpt_neox" if family == "neox" else family]()
    auto = tf.AutoModel if family == "bert" else tf.AutoModelForCausalLM
    return auto.from_config(config).eval()


def save(model, path: Path) -> Path:
    model.save_pretrained(path)
    return path


def tiny_llama(tmp_path: Path, seed: int = 0) -> Path:
    return save(tiny_model("llama", seed), tmp_path / f"llama-{seed}")


def logits(model, seed: int = 1) -> np.ndarray:
    ids = torch.randint(0, model.config.vocab_size, (2, 12), generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        out = model(input_ids=ids)
    return (out.logits if hasattr(out, "logits") else out.last_hidden_state).double().numpy()


@torch.no_grad()
def scale_every_matrix(model, c: float):
    """Every 2-D weight of the transformer blocks x c (a different network, same wiring)."""
    for name, p in model.named_parameters():
        if p.ndim == 2 and ".layers." in name:
            p.mul_(c)
    return model
