"""Architecture adapters on tiny models built offline from configs (transformers, fixed seeds),
saved with save_pretrained and read back: every edge is checked against the model's own
parameters."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import transformers as tf
from safetensors.numpy import save_file
from transformers.models.llama.modeling_llama import repeat_kv

from neuromfa.base.errors import ModelError
from neuromfa.ingest.adapters import SUPPORTED, adapter_for
from neuromfa.ingest.build import snin_for_checkpoint
from neuromfa.ingest.readers import open_model
from neuromfa.schema.layers import KIND_CODE

K = 8
H = 48
LLAMA = dict(hidden_size=H, intermediate_size=80, num_hidden_layers=2, num_attention_heads=6, num_key_value_heads=2, vocab_size=64, max_position_embeddings=32)

CONFIGS = {
    "gpt_neox": lambda: tf.GPTNeoXConfig(hidden_size=H, num_hidden_layers=2, num_attention_heads=4, intermediate_size=4 * H, vocab_size=64, max_position_embeddings=32),
    "llama-gqa": lambda: tf.LlamaConfig(**LLAMA),
    "llama-head-dim": lambda: tf.LlamaConfig(**{**LLAMA, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16}),
    "mistral": lambda: tf.MistralConfig(**LLAMA),
    "qwen2": lambda: tf.Qwen2Config(**LLAMA),
    "qwen3": lambda: tf.Qwen3Config(**{**LLAMA, "head_dim": 8}),
    "gpt2": lambda: tf.GPT2Config(n_embd=H, n_layer=2, n_head=4, vocab_size=64, n_positions=32),
    "bert": lambda: tf.BertConfig(hidden_size=H, num_hidden_layers=2, num_attention_heads=4, intermediate_size=96, vocab_size=64, max_position_embeddings=32),
    "roberta": lambda: tf.RobertaConfig(hidden_size=H, num_hidden_layers=2, num_attention_heads=4, intermediate_size=96, vocab_size=64, max_position_embeddings=34),
}


def tiny_model(name: str, seed: int = 0):
    config = CONFIGS[name]()
    torch.manual_seed(seed)
    if config.model_type in ("bert", "roberta"):
        return tf.AutoModel.from_config(config)
    return tf.AutoModelForCausalLM.from_config(config)


def logical_matrices(model, block: int) -> dict[str, np.ndarray]:
    """The reference-chain matrices M[out, in] of one block, derived from the model's own
    parameters: qkv (3A x h, [Q; K; V] with KV heads repeated as attention uses them),
    o (h x A), up (M x h) and down (h x M)."""
    sd = {k: v.detach().to(torch.float64) for k, v in model.state_dict().items()}
    mt = model.config.model_type
    if mt == "gpt_neox":
        p = f"gpt_neox.layers.{block}."
        return {
            "qkv": sd[p + "attention.query_key_value.weight"],
            "o": sd[p + "attention.dense.weight"],
            "up": sd[p + "mlp.dense_h_to_4h.weight"],
            "down": sd[p + "mlp.dense_4h_to_h.weight"],
        }
    if mt == "gpt2":  # Conv1D stores [in, out]
        p = f"transformer.h.{block}."
        return {
            "qkv": sd[p + "attn.c_attn.weight"].T,
            "o": sd[p + "attn.c_proj.weight"].T,
            "up": sd[p + "mlp.c_fc.weight"].T,
            "down": sd[p + "mlp.c_proj.weight"].T,
        }
    if mt in ("bert", "roberta"):
        p = f"encoder.layer.{block}."
        return {
            "qkv": torch.cat([sd[p + f"attention.self.{r}.weight"] for r in ("query", "key", "value")]),
            "o": sd[p + "attention.output.dense.weight"],
            "up": sd[p + "intermediate.dense.weight"],
            "down": sd[p + "output.dense.weight"],
        }
    p = f"model.layers.{block}."
    cfg = model.config
    heads, kv_heads = cfg.num_attention_heads, cfg.num_key_value_heads
    head_dim = sd[p + "self_attn.q_proj.weight"].shape[0] // heads

    def repeated(w):  # transformers' repeat_kv over (batch, kv_heads, "seq" = head_dim, h)
        return repeat_kv(w.view(1, kv_heads, head_dim, -1), heads // kv_heads).reshape(heads * head_dim, -1)

    return {
        "qkv": torch.cat([sd[p + "self_attn.q_proj.weight"], repeated(sd[p + "self_attn.k_proj.weight"]), repeated(sd[p + "self_attn.v_proj.weight"])]),
        "o": sd[p + "self_attn.o_proj.weight"],
        "up": torch.cat([sd[p + "mlp.gate_proj.weight"], sd[p + "mlp.up_proj.weight"]]),
        "down": torch.cat([sd[p + "mlp.down_proj.weight"]] * 2, dim=1),
    }


@pytest.fixture(scope="module", params=list(CONFIGS))
def saved(request, tmp_path_factory):
    model = tiny_model(request.param)
    d = tmp_path_factory.mktemp(request.param)
    model.save_pretrained(d)
    return request.param, model, d


def test_every_edge_equals_the_model_parameter(saved):
    name, model, d = saved
    g = snin_for_checkpoint(d, sample=1, k=K)
    blocks = model.config.num_hidden_layers
    feeds = {"qkv": "qkv", "attn_out": "o", "mlp_hidden": "up"}
    learned = ~g.structural
    checked = 0
    for b in range(blocks):
        mats = logical_matrices(model, b)
        nxt = "input" if b + 1 < blocks else "output"
        for dst_kind, mat in [*feeds.items(), (nxt, "down")]:
            sel = learned & (g.block[g.src] == b) & (g.kind[g.dst] == KIND_CODE[dst_kind])
            expected = mats[mat].numpy()[g.index[g.dst[sel]], g.index[g.src[sel]]]
            np.testing.assert_allclose(g.w[sel], expected, rtol=1e-6, atol=0, err_msg=f"{name} block {b} -> {dst_kind}")
            checked += int(sel.sum())
    assert checked == int(learned.sum())
    # random init has no exact zeros: every sampled pair is an edge
    per_block = 3 * K * K + (K + 2 * K * K) + K * K + 2 * K * K + 2 * K * K
    assert g.n_edges == blocks * per_block


def test_facts(saved):
    name, model, d = saved
    with open_model(d) as src:
        facts = adapter_for(src).facts
    cfg = model.config
    assert facts.arch == cfg.model_type
    assert facts.hidden == cfg.hidden_size
    assert facts.blocks == cfg.num_hidden_layers
    assert facts.params == model.num_parameters()
    if cfg.model_type in ("llama", "mistral", "qwen2", "qwen3"):
        head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        assert facts.sizes.attn == cfg.num_attention_heads * head_dim
        assert facts.sizes.mlp == 2 * cfg.intermediate_size
    else:
        assert facts.sizes.attn == cfg.hidden_size
    # Pythia / GPT-NeoX blocks are parallel-residual (use_parallel_residual defaults to true)
    assert facts.parallel_residual is (cfg.model_type == "gpt_neox")
    with open_model(d) as src:
        att = adapter_for(src).attention
    kv_heads = getattr(cfg, "num_key_value_heads", None) or cfg.num_attention_heads
    assert (att.heads, att.kv_heads, att.heads * att.head_dim) == (cfg.num_attention_heads, kv_heads, facts.sizes.attn)


def test_neox_without_parallel_residual(tmp_path):
    config = CONFIGS["gpt_neox"]()
    config.use_parallel_residual = False
    torch.manual_seed(0)
    tf.AutoModelForCausalLM.from_config(config).save_pretrained(tmp_path)
    with open_model(tmp_path) as src:
        assert adapter_for(src).facts.parallel_residual is False


def _node(g, kind, block, index):
    (pos,) = np.flatnonzero((g.kind == KIND_CODE[kind]) & (g.block == block) & (g.index == index))
    return pos


def _edge_w(g, src, dst):
    (e,) = np.flatnonzero((g.src == src) & (g.dst == dst))
    return g.w[e]


def test_spot_edges_neox(tmp_path):
    """GPT-NeoX: w(input i -> qkv t+h) = query_key_value.weight[t+h, i]."""
    model = tiny_model("gpt_neox")
    model.save_pretrained(tmp_path)
    g = snin_for_checkpoint(tmp_path, sample=0, k=K)
    d0 = g.meta["draws"]
    t, i = d0["qkv_t"][0][3], d0["input"][0][5]
    w = model.state_dict()["gpt_neox.layers.0.attention.query_key_value.weight"]
    assert _edge_w(g, _node(g, "input", 0, i), _node(g, "qkv", 0, t + H)) == pytest.approx(float(w[t + H, i]), abs=0)
    assert _edge_w(g, _node(g, "input", 0, i), _node(g, "qkv", 0, t + 2 * H)) == pytest.approx(float(w[t + 2 * H, i]), abs=0)


def test_spot_edges_gqa(tmp_path):
    """Llama GQA: K node of query index t reads k_proj row of the KV head serving t's head."""
    model = tiny_model("llama-gqa")
    model.save_pretrained(tmp_path)
    g = snin_for_checkpoint(tmp_path, sample=0, k=K)
    d0 = g.meta["draws"]
    head_dim, group = H // 6, 3
    kw = model.state_dict()["model.layers.1.self_attn.k_proj.weight"]
    vw = model.state_dict()["model.layers.1.self_attn.v_proj.weight"]
    i = d0["input"][1][0]
    for t in d0["qkv_t"][1][:4]:
        kv_head = (t // head_dim) // group
        row = kv_head * head_dim + t % head_dim
        src = _node(g, "input", 1, i)
        assert _edge_w(g, src, _node(g, "qkv", 1, H + t)) == float(kw[row, i])
        assert _edge_w(g, src, _node(g, "qkv", 1, 2 * H + t)) == float(vw[row, i])
    # gate rows below intermediate, up rows above; down reads column j mod intermediate
    down = model.state_dict()["model.layers.1.mlp.down_proj.weight"]
    up = model.state_dict()["model.layers.1.mlp.up_proj.weight"]
    a = d0["attn_out"][1][2]
    for j in d0["mlp_hidden"][1][:6]:
        hid = _node(g, "mlp_hidden", 1, j)
        out = d0["output"][1]
        assert _edge_w(g, hid, _node(g, "output", 1, out)) == float(down[out, j % 80])
        if j >= 80:
            assert _edge_w(g, _node(g, "attn_out", 1, a), hid) == float(up[j - 80, a])


def test_spot_edges_gpt2(tmp_path):
    """GPT-2 Conv1D: w(i -> j) = W[i, j] (no transpose in the file)."""
    model = tiny_model("gpt2")
    model.save_pretrained(tmp_path)
    g = snin_for_checkpoint(tmp_path, sample=0, k=K)
    d0 = g.meta["draws"]
    c_attn = model.state_dict()["transformer.h.0.attn.c_attn.weight"]
    t, i = d0["qkv_t"][0][1], d0["input"][0][2]
    assert _edge_w(g, _node(g, "input", 0, i), _node(g, "qkv", 0, H + t)) == float(c_attn[i, H + t])
    c_fc = model.state_dict()["transformer.h.0.mlp.c_fc.weight"]
    a, j = d0["attn_out"][0][0], d0["mlp_hidden"][0][0]
    assert _edge_w(g, _node(g, "attn_out", 0, a), _node(g, "mlp_hidden", 0, j)) == float(c_fc[a, j])


def _write(d: Path, config: dict, tensors: dict[str, np.ndarray]) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / "config.json").write_text(json.dumps(config))
    save_file(tensors, str(d / "model.safetensors"))
    return d


def test_unknown_architecture_lists_supported(tmp_path):
    d = _write(tmp_path / "t5", {"model_type": "t5"}, {"shared.weight": np.ones((4, 4), np.float32)})
    with open_model(d) as src, pytest.raises(ModelError) as err:
        adapter_for(src)
    msg = str(err.value)
    assert "'t5'" in msg
    for mt in SUPPORTED:
        assert mt in msg
    with pytest.raises(ModelError):
        snin_for_checkpoint(d, sample=0)


def test_weights_not_matching_config(tmp_path):
    """A config saying llama over GPT-NeoX tensors is refused with the missing name."""
    d = _write(
        tmp_path / "mix",
        {"model_type": "llama", "num_attention_heads": 4},
        {"gpt_neox.layers.0.attention.query_key_value.weight": np.ones((12, 4), np.float32)},
    )
    with open_model(d) as src, pytest.raises(ModelError) as err:
        adapter_for(src)
    assert "q_proj" in str(err.value)


def test_missing_block_tensor_and_layer_count(tmp_path):
    model = tiny_model("gpt_neox")
    sd = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    cfg = model.config.to_dict()
    broken = dict(sd)
    del broken["gpt_neox.layers.1.mlp.dense_4h_to_h.weight"]
    with open_model(_write(tmp_path / "a", cfg, broken)) as src, pytest.raises(ModelError) as err:
        adapter_for(src)
    assert "gpt_neox.layers.1.mlp.dense_4h_to_h.weight" in str(err.value)
    with open_model(_write(tmp_path / "b", {**cfg, "num_hidden_layers": 3}, sd)) as src, pytest.raises(ModelError) as err:
        adapter_for(src)
    assert "3 layers" in str(err.value)


def test_inconsistent_block_shapes(tmp_path):
    model = tiny_model("bert")
    sd = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    sd["encoder.layer.1.intermediate.dense.weight"] = np.ones((50, H), np.float32)
    with open_model(_write(tmp_path / "c", model.config.to_dict(), sd)) as src, pytest.raises(ModelError) as err:
        adapter_for(src)
    assert "encoder.layer.1.intermediate.dense.weight" in str(err.value)
