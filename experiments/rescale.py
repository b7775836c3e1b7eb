"""Function-preserving attention rescalings of a transformers model, per family.

Per attention head: Q x c, K x 1/c (Q.K^T unchanged; rotary embeddings rotate both alike), V x c,
and the output projection x 1/c (undoes V x c). Where Q and K are normed after their projections
(Qwen3, Gemma 3, qk-layernorm), only V and the output projection are rescaled: the norms would
undo the Q and K factors but for their eps, which moves the logits by up to 3e-4. Biases of Q, K and V scale with their rows; the
output projection's bias stays. The model computes the same logits; its weights, hence the paper's absolute band, change.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import torch

from neuromfa.base.errors import ModelError

if TYPE_CHECKING:
    from transformers import PreTrainedModel

FAMILIES = ("llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text", "stablelm", "gpt_neox", "gpt2",
            "bert", "roberta", "opt", "phi", "phi3", "gptj", "falcon")


def _scale(t: torch.Tensor | None, c: float) -> None:
    if t is not None:
        t.mul_(c)


def _layers(model: PreTrainedModel) -> Iterator[Any]:  # each family's block module, read by duck typing
    base: Any = getattr(model, "base_model", model)
    for name in ("layers", "h"):
        if hasattr(base, name):
            return iter(getattr(base, name))
    if hasattr(base, "decoder") and hasattr(base.decoder, "layers"):  # OPT
        return iter(base.decoder.layers)
    if hasattr(base, "encoder"):
        return iter(base.encoder.layer)
    raise ModelError(f"no transformer blocks found in {type(model).__name__}", "pass a transformers model")


def _rescale_falcon(a: Any, c: float) -> None:
    """Falcon's fused query_key_value in its three layouts (transformers' ``_split_heads``)."""
    w, b, hd = a.query_key_value.weight, a.query_key_value.bias, a.head_dim
    if a.new_decoder_architecture:  # per KV group: [q x heads/kv | k | v]
        parts = [c] * (a.num_heads // a.num_kv_heads) + [1 / c, c]
        view_w, view_b = w.view(-1, len(parts), hd, w.shape[1]), None if b is None else b.view(-1, len(parts), hd)
    elif not a.multi_query:  # per head: [q | k | v]
        parts = [c, 1 / c, c]
        view_w, view_b = w.view(a.num_heads, 3, hd, w.shape[1]), None if b is None else b.view(a.num_heads, 3, hd)
    else:  # [q heads | k | v]
        parts = [c] * a.num_heads + [1 / c, c]
        view_w, view_b = w.view(1, len(parts), hd, w.shape[1]), None if b is None else b.view(1, len(parts), hd)
    for i, f in enumerate(parts):
        _scale(view_w[:, i], f)
        if view_b is not None:
            _scale(view_b[:, i], f)
    _scale(a.dense.weight, 1 / c)


@torch.no_grad()
def rescale_attention(model: PreTrainedModel, c: float) -> PreTrainedModel:
    """Apply the rescaling in place (module docstring) and return ``model``."""
    config = getattr(model, "config", None)
    if config is None or not hasattr(config, "num_attention_heads"):
        raise ModelError(f"{type(model).__name__} is not a transformers model with attention heads",
                         f"pass a transformers model of a supported family ({', '.join(FAMILIES)})")
    family, heads = getattr(config, "model_type", ""), config.num_attention_heads
    for layer in _layers(model):
        attn = next((getattr(layer, n) for n in ("self_attn", "attn", "self_attention", "attention") if hasattr(layer, n)), None)
        out = next((getattr(attn, n) for n in ("o_proj", "out_proj", "dense") if hasattr(attn, n)), None)
        if attn is not None and out is not None and all(hasattr(attn, n) for n in ("q_proj", "k_proj", "v_proj")):
            # separate projections: Llama family (grouped KV), Gemma, StableLM, OPT, Phi, GPT-J.
            # Q and K normed after the projection (Qwen3, Gemma 3, qk-layernorm): the norm undoes
            # their factor but for its eps, so only V and the output carry it, and the logits stay exact.
            normed = any(hasattr(attn, n) for n in ("q_norm", "q_layernorm"))
            scaled = ((attn.v_proj, c),) if normed else ((attn.q_proj, c), (attn.k_proj, 1 / c), (attn.v_proj, c))
            for proj, f in scaled:
                _scale(proj.weight, f)
                _scale(proj.bias, f)
            _scale(out.weight, 1 / c)
        elif attn is not None and hasattr(attn, "qkv_proj"):
            # Phi-3: rows of qkv_proj are [q heads | k heads | v heads] (grouped KV)
            hd = attn.head_dim
            q_rows, kv_rows = heads * hd, config.num_key_value_heads * hd
            for rows, f in ((slice(0, q_rows), c), (slice(q_rows, q_rows + kv_rows), 1 / c), (slice(q_rows + kv_rows, None), c)):
                _scale(attn.qkv_proj.weight[rows], f)
                if attn.qkv_proj.bias is not None:
                    _scale(attn.qkv_proj.bias[rows], f)
            _scale(attn.o_proj.weight, 1 / c)
        elif family == "falcon" and hasattr(layer, "self_attention"):
            _rescale_falcon(layer.self_attention, c)
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
