"""Function-preserving attention rescalings of a transformers model, per family.

Per attention head: Q x c, K x 1/c (Q.K^T unchanged), V x c, and the output projection x 1/c
(undoes V x c). Biases of Q, K and V scale with their rows; the output projection's bias stays.
The model computes the same logits; its weights, hence the paper's absolute band, change.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import torch

from neuromfa.base.errors import ModelError

if TYPE_CHECKING:
    from transformers import PreTrainedModel

FAMILIES = ("llama", "gpt_neox", "gpt2", "bert")


def _scale(t: torch.Tensor | None, c: float) -> None:
    if t is not None:
        t.mul_(c)


def _layers(model: PreTrainedModel) -> Iterator[Any]:  # each family's block module, read by duck typing
    base: Any = getattr(model, "base_model", model)
    for name in ("layers", "h"):
        if hasattr(base, name):
            return iter(getattr(base, name))
    if hasattr(base, "encoder"):
        return iter(base.encoder.layer)
    raise ModelError(f"no transformer blocks found in {type(model).__name__}", "pass a transformers model")


@torch.no_grad()
def rescale_attention(model: PreTrainedModel, c: float) -> PreTrainedModel:
    """Apply the rescaling in place (module docstring) and return ``model``."""
    config = getattr(model, "config", None)
    if config is None or not hasattr(config, "num_attention_heads"):
        raise ModelError(f"{type(model).__name__} is not a transformers model with attention heads",
                         f"pass a transformers model of a supported family ({', '.join(FAMILIES)})")
    family, heads = getattr(config, "model_type", ""), config.num_attention_heads
    for layer in _layers(model):
        if hasattr(layer, "self_attn"):  # Llama family: separate projections (grouped KV)
            a = layer.self_attn
            for proj, f in ((a.q_proj, c), (a.k_proj, 1 / c), (a.v_proj, c)):
                _scale(proj.weight, f)
                _scale(proj.bias, f)
            _scale(a.o_proj.weight, 1 / c)
        elif hasattr(layer, "attention") and hasattr(layer.attention, "query_key_value"):
            a = layer.attention  # GPT-NeoX: rows of query_key_value are [head][q | k | v][head_dim]
            w = a.query_key_value.weight.view(heads, 3, -1, a.query_key_value.weight.shape[1])
            b = a.query_key_value.bias.view(heads, 3, -1) if a.query_key_value.bias is not None else None
            for part, f in enumerate((c, 1 / c, c)):
                _scale(w[:, part], f)
                if b is not None:
                    _scale(b[:, part], f)
            _scale(a.dense.weight, 1 / c)
        elif hasattr(layer, "attn") and hasattr(layer.attn, "c_attn"):
            a = layer.attn  # GPT-2: Conv1D c_attn [h, 3h], output columns [Q | K | V]
            h = a.c_attn.weight.shape[0]
            for part, f in enumerate((c, 1 / c, c)):
                _scale(a.c_attn.weight[:, part * h:(part + 1) * h], f)
                _scale(a.c_attn.bias[part * h:(part + 1) * h], f)
            _scale(a.c_proj.weight, 1 / c)  # Conv1D [in, out]: every weight feeds from V
        elif hasattr(layer, "attention") and hasattr(layer.attention, "self"):
            s = layer.attention.self  # BERT / RoBERTa
            for proj, f in ((s.query, c), (s.key, 1 / c), (s.value, c)):
                _scale(proj.weight, f)
                _scale(proj.bias, f)
            _scale(layer.attention.output.dense.weight, 1 / c)
        else:
            raise ModelError(f"cannot rescale the attention of model type {family!r}",
                             f"supported families: {', '.join(FAMILIES)}")
    return model
