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
