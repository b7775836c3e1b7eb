"""The families of issue #15 (Gemma 1/2/3, Phi, Phi-3, OPT, GPT-J, Falcon in its three qkv
layouts, StableLM) on tiny models built offline from their transformers configs (fixed seeds),
saved with save_pretrained and read back: node counts per kind, the edge count formula, every
edge's weight against the model's own state_dict, the facts, and an analysis. Mixture-of-experts
and state-space models are refused with the reason."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from model_builders import FAMILY_CONFIGS, family_model
from safetensors.numpy import save_file
from transformers.models.llama.modeling_llama import repeat_kv

from neuromfa.analysis.engine import analyze_snin, box_hist
from neuromfa.base.errors import ModelError
from neuromfa.ingest.adapters import adapter_for
from neuromfa.ingest.build import snin_for_checkpoint
from neuromfa.ingest.pipeline import ingest_path
from neuromfa.ingest.readers import open_model
from neuromfa.schema.layers import KIND_CODE, KINDS
from neuromfa.schema.params import AnalysisParams
from neuromfa.schema.records import graph_id
from neuromfa.store.graphs import GraphRepository

K = 8
# each family's tensors, as transformers names them (prefix before the block number, then per role)
NAMES = {
    "gemma": ("model.layers.", {"q": "self_attn.q_proj", "k": "self_attn.k_proj", "v": "self_attn.v_proj",
                                "o": "self_attn.o_proj", "gate": "mlp.gate_proj", "up": "mlp.up_proj", "down": "mlp.down_proj"}),
    "phi": ("model.layers.", {"q": "self_attn.q_proj", "k": "self_attn.k_proj", "v": "self_attn.v_proj",
                              "o": "self_attn.dense", "up": "mlp.fc1", "down": "mlp.fc2"}),
    "phi3": ("model.layers.", {"qkv": "self_attn.qkv_proj", "o": "self_attn.o_proj", "gate_up": "mlp.gate_up_proj",
                               "down": "mlp.down_proj"}),
    "opt": ("model.decoder.layers.", {"q": "self_attn.q_proj", "k": "self_attn.k_proj", "v": "self_attn.v_proj",
                                      "o": "self_attn.out_proj", "up": "fc1", "down": "fc2"}),
    "gptj": ("transformer.h.", {"q": "attn.q_proj", "k": "attn.k_proj", "v": "attn.v_proj", "o": "attn.out_proj",
                                "up": "mlp.fc_in", "down": "mlp.fc_out"}),
    "falcon": ("transformer.h.", {"qkv": "self_attention.query_key_value", "o": "self_attention.dense",
                                  "up": "mlp.dense_h_to_4h", "down": "mlp.dense_4h_to_h"}),
}
NAMES["gemma2"] = NAMES["gemma3_text"] = NAMES["stablelm"] = NAMES["gemma"]
PARALLEL = {"phi", "gptj", "falcon-grouped", "falcon-multi-query", "stablelm-parallel"}


@pytest.fixture(scope="module", params=list(FAMILY_CONFIGS))
def saved(request, tmp_path_factory):
    model = family_model(request.param)
    d = tmp_path_factory.mktemp(request.param)
    model.save_pretrained(d)
    return request.param, model, d, snin_for_checkpoint(d, sample=1, k=K)


def _repeat(w: torch.Tensor, heads: int, kv_heads: int) -> torch.Tensor:
    """K or V rows as attention uses them: transformers' repeat_kv over (1, kv_heads, head_dim, h)."""
    head_dim = w.shape[0] // kv_heads
    return repeat_kv(w.view(1, kv_heads, head_dim, -1), heads // kv_heads).reshape(heads * head_dim, -1)


def _falcon_qkv(model, block: int) -> torch.Tensor:
    """Falcon's [Q; K; V] (3A x h) as the model's own _split_heads lays out query_key_value."""
    attn = model.transformer.h[block].self_attention
    h = model.config.hidden_size
    with torch.no_grad():
        basis = torch.eye(h, dtype=torch.float64)[None]  # token i = unit input i: output = column i
        q, k, v = attn._split_heads(torch.nn.functional.linear(basis, attn.query_key_value.weight.double()))
    heads = q.shape[2]

    def rows(x: torch.Tensor) -> torch.Tensor:  # (1, h, n, d) -> (heads * d, h), single KV heads broadcast
        x = x.expand(1, h, heads, x.shape[-1]) if x.shape[2] == 1 else x
        return x[0].reshape(h, -1).T

    return torch.cat([rows(q), rows(k), rows(v)])


def logical_matrices(name: str, model, block: int) -> dict[str, np.ndarray]:
    """The chain's matrices M[out, in] of one block, from the model's state_dict: qkv (3A x h,
    [Q; K; V] with KV heads repeated as attention uses them; a multi-head Falcon's fused rows as
    they stand, like GPT-NeoX's), o (h x A), up (M x h: [gate; up]
    for gated MLPs) and down (h x M, its columns repeated for [gate; up])."""
    family = name.split("-")[0]
    prefix, roles = NAMES[family]
    sd = {k: v.detach().to(torch.float64) for k, v in model.state_dict().items()}
    w = {r: sd[f"{prefix}{block}.{n}.weight"] for r, n in roles.items()}
    cfg = model.config
    heads = cfg.num_attention_heads
    kv_heads = getattr(cfg, "num_key_value_heads", None) or heads
    if name == "falcon-per-head":  # [3A, h]: the reference topology reads it as [Q; K; V], as GPT-NeoX's
        qkv = w["qkv"]
    elif family == "falcon":
        qkv = _falcon_qkv(model, block)
    elif family == "phi3":  # modeling_phi3: qkv[..., :query_pos], then kv_heads * head_dim for K, the rest V
        a = w["o"].shape[1]
        kv = (w["qkv"].shape[0] - a) // 2
        q, k, v = w["qkv"][:a], w["qkv"][a:a + kv], w["qkv"][a + kv:]
        qkv = torch.cat([q, _repeat(k, heads, kv_heads), _repeat(v, heads, kv_heads)])
    else:
        qkv = torch.cat([w["q"], _repeat(w["k"], heads, kv_heads), _repeat(w["v"], heads, kv_heads)])
    if "gate" in w:
        up, down = torch.cat([w["gate"], w["up"]]), torch.cat([w["down"]] * 2, dim=1)
    elif "gate_up" in w:  # modeling_phi3: gate, up = gate_up_proj(x).chunk(2)
        up, down = w["gate_up"], torch.cat([w["down"]] * 2, dim=1)
    else:
        up, down = w["up"], w["down"]
    return {"qkv": qkv.numpy(), "o": w["o"].numpy(), "up": up.numpy(), "down": down.numpy()}


def test_nodes_per_kind_and_edge_count(saved):
    name, model, _, g = saved
    blocks = model.config.num_hidden_layers
    per_block = {"input": K, "qkv": 3 * K, "context": K, "attn_out": K, "mlp_hidden": 2 * K, "output": 0}
    for kind in KINDS:
        expected = K if kind == "output" else blocks * per_block[kind]
        assert int((g.kind == KIND_CODE[kind]).sum()) == expected, f"{name}: {kind}"
    # per block: input->qkv 3k^2, structural k + 2k^2, context->attn_out k^2, attn_out->mlp 2k^2,
    # mlp->next 2k^2; random init has no exact zeros, so every sampled pair is an edge
    assert g.n_edges == blocks * (3 * K * K + (K + 2 * K * K) + K * K + 2 * K * K + 2 * K * K)
    assert int(g.structural.sum()) == blocks * (K + 2 * K * K)
    assert g.meta["zero_weights"] == 0


def test_every_edge_equals_the_state_dict(saved):
    name, model, _, g = saved
    blocks = model.config.num_hidden_layers
    learned = ~g.structural
    checked = 0
    for b in range(blocks):
        mats = logical_matrices(name, model, b)
        nxt = "input" if b + 1 < blocks else "output"
        for dst_kind, mat in [("qkv", "qkv"), ("attn_out", "o"), ("mlp_hidden", "up"), (nxt, "down")]:
            sel = learned & (g.block[g.src] == b) & (g.kind[g.dst] == KIND_CODE[dst_kind])
            assert sel.sum() > 0
            expected = mats[mat][g.index[g.dst[sel]], g.index[g.src[sel]]]
            np.testing.assert_allclose(g.w[sel], expected, rtol=1e-6, atol=0, err_msg=f"{name} block {b} -> {dst_kind}")
            checked += int(sel.sum())
    assert checked == int(learned.sum())


def test_facts_and_wiring(saved):
    name, model, d, _ = saved
    with open_model(d) as src:
        adapter = adapter_for(src)
    cfg, facts = model.config, adapter.facts
    assert (facts.arch, facts.hidden, facts.blocks) == (cfg.model_type, cfg.hidden_size, cfg.num_hidden_layers)
    assert facts.params == model.num_parameters()
    assert facts.parallel_residual is (name in PARALLEL) and adapter.parallel_residual is facts.parallel_residual
    att = adapter.attention
    heads = cfg.num_attention_heads
    kv_heads = 1 if name == "falcon-multi-query" else getattr(cfg, "num_key_value_heads", None) or getattr(cfg, "num_kv_heads", heads)
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // heads
    assert (att.heads, att.kv_heads, att.head_dim) == (heads, kv_heads, head_dim)
    assert facts.sizes.attn == heads * head_dim
    assert adapter.warnings == []


def test_analyses(saved):
    name, _, _, g = saved
    out = analyze_snin(g, AnalysisParams(mode="one-hop"))
    assert np.isfinite(out.spectrum.alpha0) and np.isfinite(out.spectrum.width), name
    assert out.eligible.sum() > 0


def test_ingest_and_pull(store, tmp_path):
    """A family with the most involved qkv layout ingests into the graph server, and the pulled
    graph is the built one (what is written does not depend on the family once the SNIN is
    built; one keeps the test cheap on every engine)."""
    for name in ("falcon-grouped",):
        d = tmp_path / name
        family_model(name, seed=3).save_pretrained(d)
        report = ingest_path(store, d, name=name, samples=[0], k=K)
        assert report.graphs_written == 1
        pulled = GraphRepository(store).pull(graph_id(name, 0, 0, K))
        built = snin_for_checkpoint(d, sample=0, k=K)
        assert pulled.n_edges == built.n_edges
        key = lambda s: sorted(zip(s.layer[s.src], s.index[s.src], s.layer[s.dst], s.index[s.dst], s.w))  # noqa: E731
        assert key(pulled) == key(built), name


@pytest.mark.parametrize("name, why", [("mixtral", "mixture-of-experts"), ("qwen2_moe", "mixture-of-experts"),
                                       ("mamba", "state-space")])
def test_refused_families_say_why(tmp_path, name, why):
    family_model(name).save_pretrained(tmp_path)
    with open_model(tmp_path) as src, pytest.raises(ModelError) as err:
        adapter_for(src)
    assert why in str(err.value) and repr(name) in str(err.value)
    assert "unsupported" not in str(err.value)
    with pytest.raises(ModelError, match=why):
        snin_for_checkpoint(tmp_path, sample=0)


def _write(d: Path, config: dict, tensors: dict[str, np.ndarray]) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / "config.json").write_text(json.dumps(config))
    save_file(tensors, str(d / "model.safetensors"))
    return d


def test_unknown_model_types_with_experts_or_a_text_model_say_why(tmp_path):
    d = _write(tmp_path / "moe", {"model_type": "acme_moe", "num_local_experts": 8}, {"w": np.ones((2, 2), np.float32)})
    with open_model(d) as src, pytest.raises(ModelError, match="mixture-of-experts"):
        adapter_for(src)
    d = _write(tmp_path / "vlm", {"model_type": "gemma3", "text_config": {"model_type": "gemma3_text"}},
               {"w": np.ones((2, 2), np.float32)})
    with open_model(d) as src, pytest.raises(ModelError, match="a multimodal model .* gemma3_text"):
        adapter_for(src)
    d = _write(tmp_path / "one", {"model_type": "acme", "num_experts": 1}, {"w": np.ones((2, 2), np.float32)})
    with open_model(d) as src, pytest.raises(ModelError, match="unsupported architecture 'acme'"):
        adapter_for(src)


@pytest.mark.parametrize("name", ["falcon-grouped", "falcon-multi-query", "falcon-per-head"])
def test_falcon_true_rows_are_the_models_split(saved_falcon, name):
    """Falcon's true_qkv_rows (faithful reading) are the rows _split_heads gives attention, in
    every layout; the reference reading differs only for the multi-head [3A, h] layout."""
    model, d = saved_falcon(name)
    mats = _falcon_qkv(model, 1).numpy()
    with open_model(d) as src:
        adapter = adapter_for(src)
        a = adapter.facts.sizes.attn
        t = np.arange(a)
        inp = np.arange(adapter.facts.hidden)
        faithful = adapter.input_qkv(src, 1, inp, t, faithful=True)
        reference = adapter.input_qkv(src, 1, inp, t)
    np.testing.assert_allclose(faithful, mats, rtol=1e-6, atol=0)
    assert np.array_equal(reference, faithful) is (name != "falcon-per-head")


@pytest.fixture(scope="module")
def saved_falcon(tmp_path_factory):
    def build(name: str):
        model = family_model(name, seed=5)
        d = tmp_path_factory.mktemp(name)
        model.save_pretrained(d)
        return model, d

    return build


def test_the_parallel_flag_is_how_the_model_computes(saved):
    """The declared wiring against the model itself: zeroing block 0's attention output
    projection leaves the MLP's input unchanged exactly when the block is parallel-residual."""
    name, model, d, _ = saved
    prefix, roles = NAMES[name.split("-")[0]]
    mlp_in = model.get_submodule(f"{prefix}0.{roles.get('up', roles.get('gate_up'))}")
    o = model.get_submodule(f"{prefix}0.{roles['o']}")
    seen: list[torch.Tensor] = []
    hook = mlp_in.register_forward_pre_hook(lambda _m, args: seen.append(args[0].detach().clone()))
    ids = torch.arange(6)[None] % model.config.vocab_size
    saved_w = o.weight.detach().clone()
    try:
        with torch.no_grad():
            model(input_ids=ids)
            o.weight.zero_()
            model(input_ids=ids)
    finally:
        hook.remove()
        with torch.no_grad():
            o.weight.copy_(saved_w)
    with open_model(d) as src:
        parallel = adapter_for(src).parallel_residual
    assert torch.equal(seen[0], seen[1]) is parallel, name


def test_faithful_graphs_read_the_declared_wiring_and_layered_equals_shortest_path(saved):
    name, _, d, _ = saved
    g = snin_for_checkpoint(d, sample=0, k=K, topology="faithful")
    with open_model(d) as src:
        parallel = adapter_for(src).parallel_residual
    into_mlp = g.kind[g.dst] == KIND_CODE["mlp_hidden"]
    sources = {KINDS[c] for c in np.unique(g.kind[g.src[into_mlp]])}
    assert sources == ({"input"} if parallel else {"attn_out"}), name
    params = AnalysisParams(mode="shortest-path")
    exact, _, _ = box_hist(g, params)
    fast, _, _ = box_hist(g, params.model_copy(update={"mode": "layered"}), device="cpu")
    np.testing.assert_array_equal(fast, exact)


def test_a_falcon_config_contradicting_its_fused_rows_is_one_clear_error(saved_falcon, tmp_path):
    model, d = saved_falcon("falcon-multi-query")  # 72 fused rows: 4 heads of 12, one K and one V head
    sd = {k: v.detach().numpy().copy() for k, v in model.state_dict().items() if "lm_head" not in k}
    config = {**model.config.to_dict(), "new_decoder_architecture": True, "num_kv_heads": 2}
    with open_model(_write(tmp_path / "f", config, sd)) as src, pytest.raises(ModelError) as err:
        adapter_for(src)
    assert "has 72 rows; the grouped layout of 4 heads of 12 with 2 KV heads needs 96" in str(err.value)
    assert "new_decoder_architecture" in err.value.hint
