"""Tiny real checkpoints built offline from transformers configs (fixed seeds), and the
function-preserving attention rescaling the null-model tests apply to them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import transformers as tf

LLAMA = dict(hidden_size=48, intermediate_size=80, num_hidden_layers=2, num_attention_heads=6,
             num_key_value_heads=2, vocab_size=64, max_position_embeddings=32)
NEOX = dict(hidden_size=48, num_hidden_layers=2, num_attention_heads=4, intermediate_size=192,
            vocab_size=64, max_position_embeddings=32)


def tiny_model(family: str, seed: int = 0):
    torch.manual_seed(seed)
    config = tf.LlamaConfig(**LLAMA) if family == "llama" else tf.GPTNeoXConfig(**NEOX)
    return tf.AutoModelForCausalLM.from_config(config).eval()


def save(model, path: Path) -> Path:
    model.save_pretrained(path)
    return path


def tiny_llama(tmp_path: Path, seed: int = 0) -> Path:
    return save(tiny_model("llama", seed), tmp_path / f"llama-{seed}")


def logits(model, seed: int = 1) -> np.ndarray:
    ids = torch.randint(0, model.config.vocab_size, (2, 12), generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return model(input_ids=ids).logits.double().numpy()


@torch.no_grad()
def rescale_attention(model, c: float):
    """Q x c, K x 1/c, V x c in every head, the output projection x 1/c: the same function.
    (Q.K^T is unchanged; V x c is undone by the output projection.)"""
    for layer in model.model.layers if hasattr(model, "model") else model.gpt_neox.layers:
        if hasattr(layer, "self_attn"):
            a = layer.self_attn
            a.q_proj.weight.mul_(c), a.k_proj.weight.mul_(1 / c), a.v_proj.weight.mul_(c), a.o_proj.weight.mul_(1 / c)
        else:  # GPT-NeoX: rows of query_key_value are [head][q | k | v][head_dim]
            a = layer.attention
            heads = model.config.num_attention_heads
            w = a.query_key_value.weight.view(heads, 3, -1, a.query_key_value.weight.shape[1])
            b = a.query_key_value.bias.view(heads, 3, -1)
            for part, f in enumerate((c, 1 / c, c)):
                w[:, part].mul_(f), b[:, part].mul_(f)
            a.dense.weight.mul_(1 / c)
    return model


@torch.no_grad()
def scale_every_matrix(model, c: float):
    """Every 2-D weight of the transformer blocks x c (a different network, same wiring)."""
    for name, p in model.named_parameters():
        if p.ndim == 2 and ".layers." in name:
            p.mul_(c)
    return model
