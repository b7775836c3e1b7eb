"""SNIN builder on the GPT-NeoX fixture (reference topology, docs/method.md sections 1-2)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import save_file

from neuromfa.base.errors import ConfigError, ModelError
from neuromfa.ingest.adapters import adapter_for
from neuromfa.ingest.build import build_snin, snin_for_checkpoint
from neuromfa.ingest.readers import open_model
from neuromfa.ingest.sampler import LayerSizes, draws_for_sample
from neuromfa.schema.layers import KIND_CODE, KINDS, layer_position

FIXTURE = Path(__file__).parent / "fixtures" / "neox-h64-l2"
H, BLOCKS, K = 64, 2, 32


def fixture_tensors() -> dict[str, np.ndarray]:
    with safe_open(str(FIXTURE / "model.safetensors"), framework="np") as f:
        return {n: f.get_tensor(n) for n in f.keys()}


def nodes_of(g, kind: str, block: int) -> np.ndarray:
    return np.flatnonzero((g.kind == KIND_CODE[kind]) & (g.block == block))


@pytest.fixture(scope="module")
def reference():
    return {s["sample"]: s for s in json.loads((FIXTURE / "expected_one_hop.json").read_text())["samples"]}


@pytest.mark.parametrize("sample", [0, 1, 2])
def test_fixture_counts_and_block0_indices(sample, reference):
    ref = reference[sample]
    g = snin_for_checkpoint(FIXTURE, sample=sample, k=K, gid=f"fx/s{sample}")
    assert g.n_edges == ref["edges_sampled"]
    assert g.n_nodes == BLOCKS * 8 * K + K
    assert g.gid == f"fx/s{sample}"
    idx = ref["sampled_indices"]
    t = np.array(idx["block0_qkv_t"])
    assert g.index[nodes_of(g, "input", 0)].tolist() == idx["block0_input"]
    assert g.index[nodes_of(g, "qkv", 0)].tolist() == np.concatenate([t, t + H, t + 2 * H]).tolist()
    assert g.index[nodes_of(g, "context", 0)].tolist() == idx["block0_qkv_t"]
    assert g.index[nodes_of(g, "attn_out", 0)].tolist() == idx["block0_attn_out"]
    assert g.index[nodes_of(g, "mlp_hidden", 0)].tolist() == idx["block0_mlp_hidden"]


def test_layer_positions_and_meta():
    g = snin_for_checkpoint(FIXTURE, sample=0)
    for kind in KINDS[:5]:
        for b in range(BLOCKS):
            assert set(g.layer[nodes_of(g, kind, b)].tolist()) == {layer_position(kind, b, BLOCKS)}
    out = np.flatnonzero(g.kind == KIND_CODE["output"])
    assert len(out) == K and set(g.layer[out].tolist()) == {5 * BLOCKS}
    # edges go forward, one layer at a time
    assert np.all(g.layer[g.dst] == g.layer[g.src] + 1)
    tensors = fixture_tensors()
    assert g.meta["arch"] == "gpt_neox"
    assert (g.meta["hidden"], g.meta["blocks"], g.meta["k"], g.meta["seed"]) == (H, BLOCKS, K, 0)
    assert g.meta["params"] == sum(int(v.size) for v in tensors.values())
    assert g.meta["draws"]["input"][1] == g.index[nodes_of(g, "input", 1)].tolist()
    assert g.w.dtype == np.float64 and g.src.dtype == np.int64


def test_learned_weights_equal_the_checkpoint():
    """Every learned edge i -> j carries W[j, i] of the matrix that feeds layer j."""
    g = snin_for_checkpoint(FIXTURE, sample=1)
    tensors = fixture_tensors()
    p = "gpt_neox.layers.{}."
    feeds = {"qkv": "attention.query_key_value.weight", "attn_out": "attention.dense.weight", "mlp_hidden": "mlp.dense_h_to_4h.weight"}
    learned = ~g.structural
    checked = 0
    for b in range(BLOCKS):
        for dst_kind, tensor in [*feeds.items(), ("input" if b + 1 < BLOCKS else "output", "mlp.dense_4h_to_h.weight")]:
            sel = learned & (g.block[g.src] == b) & (g.kind[g.dst] == KIND_CODE[dst_kind])
            w = tensors[p.format(b) + tensor]
            np.testing.assert_array_equal(g.w[sel], w[g.index[g.dst[sel]], g.index[g.src[sel]]].astype(np.float64))
            checked += int(sel.sum())
    assert checked == int(learned.sum()) > 0


def test_structural_edges():
    g = snin_for_checkpoint(FIXTURE, sample=2)
    assert np.all(g.w[g.structural] == 1.0)
    assert int(g.structural.sum()) == BLOCKS * (K + 2 * K * K)
    for b in range(BLOCKS):
        qkv, ctx = nodes_of(g, "qkv", b), nodes_of(g, "context", b)
        sel = g.structural & (g.block[g.src] == b)
        pairs = set(zip(g.src[sel].tolist(), g.dst[sel].tolist()))
        q, kv = qkv[:K], qkv[K:]
        expected = set(zip(q.tolist(), ctx.tolist())) | {(s, d) for s in kv.tolist() for d in ctx.tolist()}
        assert pairs == expected
        # the Q row t connects to context t, identified by index
        assert np.array_equal(g.index[q], g.index[ctx])


def test_same_draws_for_every_checkpoint(tmp_path):
    """A second checkpoint of the same model (different weights) gets the same neurons."""
    other = tmp_path / "other"
    shutil.copytree(FIXTURE, other)
    tensors = {n: (v * 2.0).astype(np.float32) for n, v in fixture_tensors().items()}
    save_file(tensors, str(other / "model.safetensors"), metadata={"format": "pt"})
    a, b = snin_for_checkpoint(FIXTURE, sample=0), snin_for_checkpoint(other, sample=0)
    np.testing.assert_array_equal(a.index, b.index)
    np.testing.assert_array_equal(a.src, b.src)
    np.testing.assert_allclose(b.w[~b.structural], 2.0 * a.w[~a.structural], rtol=1e-6)


def _patched_fixture(tmp_path: Path, name: str, row: int, col: int, value: float) -> Path:
    d = tmp_path / "patched"
    shutil.copytree(FIXTURE, d)
    tensors = fixture_tensors()
    tensors[name] = tensors[name].copy()
    tensors[name][row, col] = value
    save_file(tensors, str(d / "model.safetensors"), metadata={"format": "pt"})
    return d


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_used_weight_names_the_tensor(tmp_path, value):
    d = draws_for_sample(LayerSizes(H, H, 4 * H), BLOCKS, sample=0, k=K)
    name = "gpt_neox.layers.1.mlp.dense_4h_to_h.weight"
    path = _patched_fixture(tmp_path, name, int(d.output[3]), int(d.mlp_hidden[1][5]), value)
    with pytest.raises(ModelError) as err:
        snin_for_checkpoint(path, sample=0)
    assert name in str(err.value)


def test_non_finite_unused_weight_is_ignored(tmp_path):
    d = draws_for_sample(LayerSizes(H, H, 4 * H), BLOCKS, sample=0, k=K)
    unused_row = int(np.setdiff1d(np.arange(H), d.attn_out[0])[0])
    path = _patched_fixture(tmp_path, "gpt_neox.layers.0.attention.dense.weight", unused_row, 0, np.nan)
    assert snin_for_checkpoint(path, sample=0).n_edges == 20544


def test_zero_weight_is_no_edge(tmp_path):
    d = draws_for_sample(LayerSizes(H, H, 4 * H), BLOCKS, sample=0, k=K)
    row, col = int(d.attn_out[0][4]), int(d.qkv_t[0][7])
    path = _patched_fixture(tmp_path, "gpt_neox.layers.0.attention.dense.weight", row, col, 0.0)
    g = snin_for_checkpoint(path, sample=0)
    assert g.n_edges == 20544 - 1
    ctx, att = nodes_of(g, "context", 0)[7], nodes_of(g, "attn_out", 0)[4]
    assert not np.any((g.src == ctx) & (g.dst == att))
    assert np.all(g.w != 0)


def test_draws_must_fit_the_checkpoint():
    with open_model(FIXTURE) as src:
        adapter = adapter_for(src)
        wrong = draws_for_sample(LayerSizes(128, 128, 512), BLOCKS, sample=0, k=K)
        with pytest.raises(ConfigError):
            build_snin(src, adapter, wrong)
        fewer = draws_for_sample(adapter.facts.sizes, 1, sample=0, k=K)
        with pytest.raises(ConfigError):
            build_snin(src, adapter, fewer)


def test_k_up_to_the_layer_size():
    with pytest.raises(ConfigError) as err:
        snin_for_checkpoint(FIXTURE, sample=0, k=H + 1)
    assert "'input'" in str(err.value)
    g = snin_for_checkpoint(FIXTURE, sample=0, k=H)  # every hidden neuron, half the MLP
    assert sorted(g.index[nodes_of(g, "input", 1)].tolist()) == list(range(H))
    per_block = 3 * H * H + (H + 2 * H * H) + H * H + 2 * H * H + 2 * H * H
    assert g.n_edges == BLOCKS * per_block


def test_a_sample_without_up_rows_builds(tmp_path):
    """k = 1 on a Llama draws 2 MLP hidden rows; when both are gate rows the up matrix is asked
    for no row at all, which must read as an empty block, not fail."""
    from model_builders import tiny_llama

    from neuromfa.schema.layers import PART_CODE

    path = tiny_llama(tmp_path)
    hidden = KIND_CODE["mlp_hidden"]
    parts = []
    for sample in range(8):
        snin = snin_for_checkpoint(path, sample=sample, k=1)
        parts.append(set(snin.part[snin.kind == hidden].tolist()))
    assert any(PART_CODE["up"] not in p for p in parts)  # the case happened
