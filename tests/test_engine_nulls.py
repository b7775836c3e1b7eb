"""Null models and the scale-free band, with ground truth (pure engine, no database)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from neuromfa.analysis.band import radius_bins, relative_weights, select_edges
from neuromfa.analysis.blocks import NO_BLOCK, edge_blocks, node_parts
from neuromfa.analysis.engine import analyze_snin, box_hist, mode_edges, null_hists
from neuromfa.analysis.layered import layered_hists
from neuromfa.analysis.nulls import null_snin
from neuromfa.ingest.build import snin_for_checkpoint
from neuromfa.schema.layers import KINDS, PART_CODE
from neuromfa.schema.params import AnalysisParams
from neuromfa.schema.snin import SNIN

FIXTURE = "tests/fixtures/neox-h64-l2"


@pytest.fixture(scope="module")
def neox() -> SNIN:
    return snin_for_checkpoint(FIXTURE, sample=0, k=32, gid="neox@0/s0/k32/reference")


def chain_snin(weights: list[np.ndarray], gid: str = "chain") -> SNIN:
    """A layered graph, dense between consecutive layers: weights[L] is the [a, b] matrix of
    layer L -> L + 1 (kinds cycle input, qkv, context... are avoided: all layers are 'input'
    and 'attn_out' alternately, so no edge is structural)."""
    sizes = [weights[0].shape[0]] + [m.shape[1] for m in weights]
    layer = np.repeat(np.arange(len(sizes)), sizes)
    kind = np.array([("attn_out", "mlp_hidden")[L % 2] for L in layer])
    starts = np.concatenate([[0], np.cumsum(sizes)])
    src, dst, w = [], [], []
    for L, m in enumerate(weights):
        a, b = np.meshgrid(np.arange(m.shape[0]), np.arange(m.shape[1]), indexing="ij")
        src.append(starts[L] + a.ravel()), dst.append(starts[L + 1] + b.ravel()), w.append(m.ravel())
    return SNIN.from_columns(layer=layer, kind=kind, block=np.zeros(len(layer)), index=np.arange(len(layer)),
                             src=np.concatenate(src), dst=np.concatenate(dst), w=np.concatenate(w), gid=gid)


def block_values(snin: SNIN) -> dict[int, np.ndarray]:
    blocks = edge_blocks(snin)
    return {int(b): np.sort(snin.w[blocks == b]) for b in np.unique(blocks[blocks != NO_BLOCK])}


# -- blocks ----------------------------------------------------------------------------------
def test_fused_qkv_rows_are_three_blocks_and_parts_survive_a_pull_without_them(neox):
    blocks = edge_blocks(neox)
    into_qkv = (neox.kind[neox.dst] == KINDS.index("qkv")) & ~neox.structural
    per_block_layer = {}
    for layer in np.unique(neox.layer[neox.dst[into_qkv]]):
        sel = into_qkv & (neox.layer[neox.dst] == layer)
        per_block_layer[int(layer)] = len(np.unique(blocks[sel]))
    assert per_block_layer == {1: 3, 6: 3}  # Q, K, V rows of each block's fused matrix
    assert (blocks[neox.structural] == NO_BLOCK).all()
    # learned blocks: per transformer block qkv x3, dense, up, down = 6; 2 blocks
    assert len(np.unique(blocks[blocks != NO_BLOCK])) == 12
    # a graph stored before parts were recorded derives the same qkv parts from the indices
    legacy = dataclasses.replace(neox, part=None)
    assert np.array_equal(node_parts(legacy), neox.part)
    assert np.array_equal(edge_blocks(legacy), blocks)


def test_llama_gate_and_up_rows_are_separate_blocks(tmp_path):
    from model_builders import tiny_llama

    path = tiny_llama(tmp_path)
    snin = snin_for_checkpoint(path, sample=0, k=8)
    hidden = snin.kind == KINDS.index("mlp_hidden")
    parts = set(snin.part[hidden].tolist())
    assert parts == {PART_CODE["gate"], PART_CODE["up"]}
    blocks = edge_blocks(snin)
    into_hidden = hidden[snin.dst] & (snin.block[snin.dst] == 0)
    assert len(np.unique(blocks[into_hidden])) == 2


# -- null draws ------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["shuffle", "gaussian"])
def test_null_draws_are_deterministic_and_differ_between_draws(neox, kind):
    a, b = null_snin(neox, kind, 3), null_snin(neox, kind, 3)
    assert np.array_equal(a.w, b.w)
    assert not np.array_equal(a.w, null_snin(neox, kind, 4).w)
    assert not np.array_equal(a.w, null_snin(dataclasses.replace(neox, gid="other"), kind, 3).w)
    assert np.array_equal(a.w[neox.structural], neox.w[neox.structural])  # structural edges kept


def test_shuffle_preserves_each_blocks_sorted_weights_exactly(neox):
    null = null_snin(neox, "shuffle", 0)
    real, shuffled = block_values(neox), block_values(null)
    assert real.keys() == shuffled.keys()
    for b in real:
        assert np.array_equal(real[b], shuffled[b])
    assert not np.array_equal(null.w, neox.w)  # the wiring did change


def test_gaussian_matches_each_blocks_mean_and_std(neox):
    real, gauss = block_values(neox), block_values(null_snin(neox, "gaussian", 0))
    for b in real:
        n = len(real[b])
        assert abs(gauss[b].mean() - real[b].mean()) < 5 * real[b].std() / np.sqrt(n)
        assert abs(gauss[b].std() / real[b].std() - 1) < 5 / np.sqrt(n)


def test_null_summary_reports_the_draws_and_z_scores(neox):
    params = AnalysisParams(mode="one-hop", null="shuffle", null_samples=4)
    out = analyze_snin(neox, params)
    n = out.null
    assert n is not None and n.samples == 4 and len(n.alpha0) == 4
    again = [analyze_snin(null_snin(neox, "shuffle", j), AnalysisParams(mode="one-hop")).spectrum
             for j in range(4)]
    assert n.alpha0 == [s.alpha0 for s in again] and n.width == [s.width for s in again]
    assert n.width_mean == pytest.approx(np.mean(n.width), abs=1e-15)
    assert n.width_z == pytest.approx((out.spectrum.width - np.mean(n.width)) / np.std(n.width, ddof=1))


def test_batched_layered_null_equals_each_draw_alone_and_shortest_path(neox):
    params = AnalysisParams(mode="layered", null="shuffle", null_samples=3)
    draws = [null_snin(neox, "shuffle", j) for j in range(3)]
    batch = layered_hists([mode_edges(d, params) for d in draws], neox.layer, 150.0, radius_bins(150.0, neox.n_nodes))
    assert [np.array_equal(a, b) for a, b in zip(batch, null_hists(neox, params)[0])] == [True] * 3
    for j, h in enumerate(batch):
        draw = null_snin(neox, "shuffle", j)
        assert np.array_equal(h, box_hist(draw, AnalysisParams(mode="layered"))[0])
        assert np.array_equal(h, box_hist(draw, AnalysisParams(mode="shortest-path"))[0])


# -- ground truth: structure that a null destroys, and none where there is none -------------
def _planted(rng: np.random.Generator, planted: bool) -> SNIN:
    """6 layers of 24 nodes; every block holds the same multiset: 90% weak weights (|w| about
    0.01), 10% strong ones (|w| about 0.3). Planted: the strong weights all leave 2 hub
    neurons of each layer (and fill their rows); otherwise they are spread at random."""
    n, layers = 24, 6
    m = n * n
    strong = np.abs(rng.normal(0.3, 0.05, m // 10)) + 0.05
    weak = np.abs(rng.normal(0.01, 0.002, m - m // 10)) + 0.007
    values = np.concatenate([strong, weak]) * rng.choice([-1, 1], m)
    mats = []
    for _ in range(layers - 1):
        if planted:
            order = np.argsort(-np.abs(values), kind="stable")
            mat = np.empty(m)
            hub_cells = np.concatenate([np.arange(h * n, (h + 1) * n) for h in range(3)])  # rows of 3 hubs
            rest = np.setdiff1d(np.arange(m), hub_cells)
            mat[np.concatenate([hub_cells, rng.permutation(rest)])] = values[order]
            mats.append(mat.reshape(n, n))
        else:
            mats.append(rng.permutation(values).reshape(n, n))
    return chain_snin(mats, gid="planted" if planted else "iid")


@pytest.mark.parametrize("seed", [1, 7, 11])
def test_planted_hubs_differ_from_their_shuffle_null(seed):
    snin = _planted(np.random.default_rng(seed), planted=True)
    out = analyze_snin(snin, AnalysisParams(mode="one-hop", min_mass=2, null="shuffle", null_samples=20))
    assert out.null is not None and out.null.width_z is not None
    assert abs(out.null.width_z) > 3 and abs(out.null.alpha0_z) > 3, out.null
    # Along paths (layered = shortest-path masses) the hubs still stand out clearly in alpha_0;
    # the width's z is smaller there (2.1 to 4.4 over these seeds).
    paths = analyze_snin(snin, AnalysisParams(mode="layered", min_mass=2, null="shuffle", null_samples=20))
    assert paths.null is not None and abs(paths.null.alpha0_z) > 3 and paths.null.width_z > 2, paths.null


@pytest.mark.parametrize("mode", ["one-hop", "layered"])
def test_iid_graph_stays_within_its_null(mode):
    snin = _planted(np.random.default_rng(11), planted=False)
    out = analyze_snin(snin, AnalysisParams(mode=mode, min_mass=2, null="shuffle", null_samples=20))
    assert out.null is not None
    for z in (out.null.alpha0_z, out.null.width_z):
        assert z is not None and abs(z) < 3, out.null


# -- the scale-free band ---------------------------------------------------------------------
def _scaled_blocks(snin: SNIN, rng: np.random.Generator) -> SNIN:
    blocks = edge_blocks(snin)
    factor = np.exp(rng.uniform(np.log(0.1), np.log(10.0), blocks.max() + 1))
    w = np.where(blocks == NO_BLOCK, snin.w, snin.w * factor[np.maximum(blocks, 0)])
    return dataclasses.replace(snin, w=w)


@pytest.mark.parametrize("mode", ["one-hop", "layered"])
def test_relative_band_ignores_a_different_scale_per_block(neox, mode):
    scaled = _scaled_blocks(neox, np.random.default_rng(3))
    params = AnalysisParams(mode=mode, band="relative")
    a, b = analyze_snin(neox, params).spectrum, analyze_snin(scaled, params).spectrum
    assert abs(a.alpha0 - b.alpha0) <= 1e-12 and abs(a.width - b.width) <= 1e-12
    assert np.allclose(a.tau, b.tau, rtol=0, atol=1e-12)
    # the paper's absolute band does move
    absolute = AnalysisParams(mode=mode)
    assert abs(analyze_snin(neox, absolute).spectrum.alpha0 - analyze_snin(scaled, absolute).spectrum.alpha0) > 1e-3


def test_relative_weights_have_block_rms_of_the_init_std(neox):
    w = relative_weights(neox)
    blocks = edge_blocks(neox)
    for b in np.unique(blocks[blocks != NO_BLOCK]):
        assert np.sqrt(np.mean(w[blocks == b] ** 2)) == pytest.approx(0.02, rel=1e-12)


def test_both_bands_agree_at_std_002_initialisation():
    rng = np.random.default_rng(5)
    snin = chain_snin([rng.normal(0, 0.02, (32, 32)) for _ in range(6)], gid="init")
    for mode in ("one-hop", "layered"):
        a = analyze_snin(snin, AnalysisParams(mode=mode, min_mass=2)).spectrum
        r = analyze_snin(snin, AnalysisParams(mode=mode, min_mass=2, band="relative")).spectrum
        assert abs(a.alpha0 - r.alpha0) < 0.01 and abs(a.width - r.width) < 0.05
    # the bands select nearly the same edges (the block RMS is 0.02 up to sampling noise)
    ea, er = select_edges(snin, 150.0, "none"), select_edges(snin, 150.0, "none", "relative")
    assert abs(ea.n_learned - er.n_learned) / ea.n_learned < 0.01


def test_band_and_null_change_the_analysis_id_only_when_set():
    base = AnalysisParams()
    assert base.key() == AnalysisParams(band="absolute").key() == AnalysisParams(null="none").key()
    keys = {base.key(), AnalysisParams(band="relative").key(), AnalysisParams(null="shuffle").key(),
            AnalysisParams(null="shuffle", null_samples=5).key(), AnalysisParams(null="gaussian").key()}
    assert len(keys) == 5
