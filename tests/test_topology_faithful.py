"""The faithful topology (issue #15): qkv rows as the model computes them, attention within a
head, residual identity edges; the neurons it shares with the reference topology; the layered
engine on its layer DAG; and its plumbing through ingest and the database."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import transformers as tf
from model_builders import FAMILY_CONFIGS, NEOX, save, tiny_llama, tiny_model
from recording_store import Call, RecordingStore

from neuromfa.analysis.band import radius_bins
from neuromfa.analysis.blocks import edge_blocks
from neuromfa.analysis.engine import analyze_snin, box_hist, mode_edges
from neuromfa.analysis.layered import layered_hists
from neuromfa.analysis.nulls import null_snin
from neuromfa.analysis.shortest_path import shortest_path_hist
from neuromfa.base.errors import ConfigError
from neuromfa.ingest.adapters import adapter_for
from neuromfa.ingest.build import build_snin, snin_for_checkpoint
from neuromfa.ingest.pipeline import check_ingest, ingest_path
from neuromfa.ingest.readers import open_model
from neuromfa.ingest.sampler import draws_for_sample
from neuromfa.schema.layers import KIND_CODE, KINDS, PART_CODE, RESIDUAL_PAIRS
from neuromfa.schema.params import AnalysisParams
from neuromfa.schema.snin import SNIN
from neuromfa.store.graphs import GraphRepository

FIXTURE = Path(__file__).parent / "fixtures" / "neox-h64-l2"
K = 8


@pytest.fixture(scope="module")
def neox_path(tmp_path_factory) -> Path:
    return save(tiny_model("neox"), tmp_path_factory.mktemp("neox") / "neox")


@pytest.fixture(scope="module")
def llama_path(tmp_path_factory) -> Path:
    return tiny_llama(tmp_path_factory.mktemp("llama"))


def of_kind(g: SNIN, kind: str, block: int | None = None) -> np.ndarray:
    sel = g.kind == KIND_CODE[kind]
    return np.flatnonzero(sel if block is None else sel & (g.block == block))


def edges_between(g: SNIN, a: str, b: str, block: int = 0) -> np.ndarray:
    """Edge ids from kind ``a`` of ``block`` to kind ``b`` (of ``block``, or the next block's
    input / the output layer when ``b`` is input or output)."""
    src_ok = (g.kind[g.src] == KIND_CODE[a]) & (g.block[g.src] == block)
    dst_block = block + 1 if b == "input" else block
    dst_ok = (g.kind[g.dst] == KIND_CODE[b]) & ((g.block[g.dst] == dst_block) | (b == "output"))
    return np.flatnonzero(src_ok & dst_ok)


# -- the acceptance check: the rows neuromfa reads are the projections transformers computes --
CAPTURED: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def _capture(module, query, key, value, mask, **kwargs):
    """An attention implementation that records the query, key and value states transformers
    hands to attention ([batch, heads, seq, head_dim]), then attends like sdpa."""
    CAPTURED[module.layer_idx] = tuple(x.detach().double().numpy() for x in (query, key, value))
    return tf.modeling_utils.ALL_ATTENTION_FUNCTIONS["sdpa"](module, query, key, value, mask, **kwargs)


def test_faithful_neox_qkv_rows_are_the_projections_of_the_forward_pass(neox_path):
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS

    AttentionInterface.register("neuromfa_capture", _capture)
    ALL_MASK_ATTENTION_FUNCTIONS.register("neuromfa_capture", ALL_MASK_ATTENTION_FUNCTIONS["sdpa"])
    model = tiny_model("neox")  # the same seed as the saved checkpoint
    model.set_attn_implementation("neuromfa_capture")
    heads, hidden = NEOX["num_attention_heads"], NEOX["hidden_size"]
    d = hidden // heads
    inputs: dict[int, np.ndarray] = {}
    for b, layer in enumerate(model.gpt_neox.layers):
        layer.attention.query_key_value.register_forward_pre_hook(
            lambda mod, args, b=b: inputs.__setitem__(b, args[0][0, 0].detach().double().numpy()))
    CAPTURED.clear()
    with torch.no_grad():
        model(input_ids=torch.tensor([[5]]))  # one token at position 0: the rotary embedding is the identity

    with open_model(neox_path) as source:
        adapter = adapter_for(source)
        draws = draws_for_sample(adapter.facts.sizes, adapter.facts.blocks, sample=0, k=K)
        faithful = build_snin(source, adapter, draws, topology="faithful")
        for b in range(adapter.facts.blocks):
            t = draws.qkv_t[b]
            head, j = t // d, t % d
            qkv_nodes = of_kind(faithful, "qkv", b)
            # node index = row of query_key_value: head * 3 * head_dim + {0, 1, 2} * head_dim + j
            expected_rows = np.concatenate([head * 3 * d + c * d + j for c in range(3)])
            assert faithful.index[qkv_nodes].tolist() == expected_rows.tolist()
            # the rows neuromfa reads (over every input column), applied to the token's input
            rows = adapter.input_qkv(source, b, np.arange(hidden), t, faithful=True)
            bias = model.gpt_neox.layers[b].attention.query_key_value.bias.detach().double().numpy()
            read = rows @ inputs[b] + bias[expected_rows]
            q, k, v = CAPTURED[b]
            computed = np.concatenate([x[0, head, 0, j] for x in (q, k, v)])
            np.testing.assert_allclose(read, computed, rtol=1e-5, atol=1e-6)
            # the sampled edges into the qkv nodes carry exactly those rows' input columns
            into = np.flatnonzero(np.isin(faithful.dst, qkv_nodes) & ~faithful.structural)
            block = np.zeros((3 * K, hidden))
            block[np.searchsorted(qkv_nodes, faithful.dst[into]), faithful.index[faithful.src[into]]] = faithful.w[into]
            np.testing.assert_array_equal(block[:, draws.input[b]], rows[:, draws.input[b]])
            # the reference reading ([Q; K; V] blocks) is not what attention computes
            ref_rows = adapter.input_qkv(source, b, np.arange(hidden), t)
            ref_bias = bias[np.concatenate([t, t + hidden, t + 2 * hidden])]
            assert not np.allclose(ref_rows @ inputs[b] + ref_bias, computed, rtol=1e-5, atol=1e-6)


# -- the graph's wiring -----------------------------------------------------------------------
def test_faithful_attention_stays_within_a_head(neox_path):
    g = snin_for_checkpoint(neox_path, sample=1, k=K, topology="faithful")
    d = NEOX["hidden_size"] // NEOX["num_attention_heads"]
    for b in range(NEOX["num_hidden_layers"]):
        e = edges_between(g, "qkv", "context", b)
        assert g.structural[e].all() and (g.w[e] == 1.0).all()
        qkv, ctx = of_kind(g, "qkv", b), of_kind(g, "context", b)
        t = g.index[ctx]
        head = t // d
        pairs = {(int(s), int(c)) for s, c in zip(g.src[e], g.dst[e])}
        expected = set()
        for i in range(K):
            for c in range(K):
                if head[i] == head[c]:
                    expected |= {(int(qkv[i]), int(ctx[c])), (int(qkv[K + i]), int(ctx[c]))}  # Q and K of the head
            expected.add((int(qkv[2 * K + i]), int(ctx[i])))  # V(h, j) -> context(h, j) only
        assert pairs == expected
        assert len(e) == len(pairs)  # no duplicate edge


@pytest.mark.parametrize("family", ["neox-parallel", "neox-sequential", "llama"])
def test_residual_identity_edges_and_where_the_mlp_reads(family, neox_path, llama_path, tmp_path):
    if family == "neox-sequential":
        torch.manual_seed(0)
        path = save(tf.GPTNeoXForCausalLM(tf.GPTNeoXConfig(**NEOX, use_parallel_residual=False)).eval(), tmp_path / "seq")
    else:
        path = neox_path if family == "neox-parallel" else llama_path
    parallel = family == "neox-parallel"
    with open_model(path) as source:
        adapter = adapter_for(source)
        assert adapter.facts.parallel_residual is parallel
        draws = draws_for_sample(adapter.facts.sizes, adapter.facts.blocks, sample=2, k=K)
        g = build_snin(source, adapter, draws, topology="faithful")
        ref = build_snin(source, adapter, draws)
        blocks = adapter.facts.blocks
        for b in range(blocks):
            nxt = "input" if b + 1 < blocks else "output"
            nxt_idx = draws.mlp_out(b)
            identity = {("input", nxt): (draws.input[b], nxt_idx), ("attn_out", nxt): (draws.attn_out[b], nxt_idx)}
            if not parallel:
                identity[("input", "attn_out")] = (draws.input[b], draws.attn_out[b])
            for (a, c), (ia, ic) in identity.items():
                e = edges_between(g, a, c, b)
                assert g.structural[e].all() and (g.w[e] == 1.0).all()
                assert (g.index[g.src[e]] == g.index[g.dst[e]]).all()  # identity: i -> i
                assert sorted(g.index[g.src[e]].tolist()) == sorted(np.intersect1d(ia, ic).tolist())
            if parallel:
                assert len(edges_between(g, "input", "attn_out", b)) == 0
            # the MLP reads the block input (parallel) or the attention sum (sequential)
            mlp_in, mlp_idx = ("input", draws.input[b]) if parallel else ("attn_out", draws.attn_out[b])
            other = "attn_out" if parallel else "input"
            assert len(edges_between(g, other, "mlp_hidden", b)) == 0
            e = edges_between(g, mlp_in, "mlp_hidden", b)
            assert not g.structural[e].any()
            m = adapter.attn_out_mlp(source, b, mlp_idx, draws.mlp_hidden[b])
            hid = of_kind(g, "mlp_hidden", b)
            src_nodes = of_kind(g, mlp_in, b)
            got = np.zeros_like(m)
            got[np.searchsorted(hid, g.dst[e]), np.searchsorted(src_nodes, g.src[e])] = g.w[e]
            np.testing.assert_array_equal(got, m)
    # the reference graph has no residual pair; a faithful graph rebuilt from its columns (as a
    # pull does) derives the same structural edges from its topology
    pairs = {(KINDS[a], KINDS[c]) for a, c in zip(ref.kind[ref.src], ref.kind[ref.dst])}
    assert not pairs & set(RESIDUAL_PAIRS)
    rebuilt = SNIN.from_columns(layer=g.layer, kind=g.kind, block=g.block, index=g.index, src=g.src, dst=g.dst,
                                w=g.w, topology="faithful")
    assert np.array_equal(rebuilt.structural, g.structural)


def test_the_two_topologies_share_their_neurons(llama_path):
    for path in (FIXTURE, llama_path):
        ref = snin_for_checkpoint(path, sample=3, k=K)
        fai = snin_for_checkpoint(path, sample=3, k=K, topology="faithful")
        assert ref.n_nodes == fai.n_nodes
        for kind in ("input", "context", "attn_out", "mlp_hidden", "output"):
            nodes = of_kind(ref, kind)
            assert np.array_equal(nodes, of_kind(fai, kind))
            for col in ("layer", "block", "index"):
                assert np.array_equal(getattr(ref, col)[nodes], getattr(fai, col)[nodes])
        assert np.array_equal(ref.part, fai.part)
        # the learned edges between shared neurons carry the same weights
        for a, c in (("context", "attn_out"), ("mlp_hidden", "input"), ("mlp_hidden", "output")):
            pick = [np.flatnonzero((g.kind[g.src] == KIND_CODE[a]) & (g.kind[g.dst] == KIND_CODE[c])) for g in (ref, fai)]
            assert len(pick[0]) > 0
            e_r, e_f = pick
            key_r = sorted(zip(ref.src[e_r].tolist(), ref.dst[e_r].tolist(), ref.w[e_r].tolist()))
            key_f = sorted(zip(fai.src[e_f].tolist(), fai.dst[e_f].tolist(), fai.w[e_f].tolist()))
            assert key_r == key_f
    # Llama's q/k/v are separate matrices: both topologies read the same qkv rows
    qkv = of_kind(ref, "qkv")
    assert np.array_equal(ref.index[qkv], fai.index[qkv])
    into = ~ref.structural & np.isin(ref.dst, qkv)
    assert np.array_equal(ref.w[into], fai.w[~fai.structural & np.isin(fai.dst, qkv)])


def test_faithful_qkv_parts_are_the_real_q_k_v_rows():
    g = snin_for_checkpoint(FIXTURE, sample=0, k=K, topology="faithful")
    qkv = of_kind(g, "qkv", 0)
    d = 64 // 4  # the fixture: hidden 64, 4 heads
    within = g.index[qkv] % (3 * d) // d  # 0, 1, 2: q, k, v within the head's [q k v] rows
    assert g.part[qkv].tolist() == [PART_CODE["qkv"[c]] for c in within]
    blocks = edge_blocks(g)
    assert (blocks[g.structural] == -1).all()
    into = np.isin(g.dst, qkv) & ~g.structural
    assert len(np.unique(blocks[into])) == 3


# -- the engine on faithful graphs ----------------------------------------------------------
def test_layered_equals_shortest_path_on_faithful_graphs(neox_path, llama_path):
    graphs = [snin_for_checkpoint(p, sample=s, k=k, topology="faithful")
              for p, s, k in ((FIXTURE, 0, 16), (neox_path, 0, K), (llama_path, 0, K))]
    cases = [(g, AnalysisParams(mode="shortest-path")) for g in graphs]
    cases.append((graphs[0], AnalysisParams(mode="shortest-path", structural="drop", threshold=40.0)))
    for g, params in cases:
        exact, e_exact, _ = box_hist(g, params)
        fast, e_fast, _ = box_hist(g, params.model_copy(update={"mode": "layered"}), device="cpu")
        np.testing.assert_array_equal(fast, exact)
        assert e_fast.n_edges == e_exact.n_edges
    # the batched null draws (the GPU path of analysis/engine.null_hists), run here on the CPU
    g = graphs[0]
    params = AnalysisParams(mode="layered", null="shuffle", null_samples=2)
    blocks = edge_blocks(g)
    edges = [mode_edges(null_snin(g, "shuffle", j, blocks), params, blocks) for j in range(2)]
    bins = radius_bins(params.threshold, g.n_nodes)
    batch = layered_hists(edges, g.layer, params.threshold, bins, device="cpu")
    for j, e in enumerate(edges):
        np.testing.assert_array_equal(batch[j], shortest_path_hist(e, params.threshold, bins))


# -- ingest and the database ----------------------------------------------------------------
def test_model_topologies_statement():
    rec = RecordingStore().queue("model_topologies", [{"topologies": ["faithful"]}])
    assert GraphRepository(rec).topologies("m") == ["faithful"]
    assert rec.calls == [Call("model_topologies", {"model": "m"})]


def test_unknown_topology_is_refused_before_anything_runs():
    with pytest.raises(ConfigError, match="unknown topology 'exact'") as err:
        check_ingest("m", 1, 8, 0, "exact")
    assert err.value.param == "topology"


def test_faithful_ingest_is_stored_pulled_and_kept_apart(store):
    report = ingest_path(store, FIXTURE, name="fx-faithful", samples=[0], k=K, topology="faithful", baselines=False)
    assert report.graphs_written == 1
    repo = GraphRepository(store)
    (graph,) = repo.list_graphs("fx-faithful")
    assert graph.topology == "faithful" and graph.gid.endswith("/faithful")
    built = snin_for_checkpoint(FIXTURE, sample=0, k=K, topology="faithful")
    pulled = repo.pull(graph.gid)

    def edge_keys(g: SNIN) -> list[tuple]:
        return sorted(zip(g.layer[g.src].tolist(), g.index[g.src].tolist(), g.layer[g.dst].tolist(),
                          g.index[g.dst].tolist(), g.w.tolist(), g.structural.tolist()))

    # the edges, with their structural flags derived from the stored topology, are the built ones
    assert edge_keys(pulled) == edge_keys(built)
    residual = pulled.structural & (pulled.kind[pulled.src] != KIND_CODE["qkv"])
    assert residual.sum() > 0
    # one topology per model name (its tables compare one wiring): the reference graphs of the
    # same checkpoint go under another name, refused before anything is written
    with pytest.raises(ConfigError, match="stored with topology faithful, not reference") as err:
        ingest_path(store, FIXTURE, name="fx-faithful", samples=[1], k=K, baselines=False)
    assert err.value.param == "topology"
    assert repo.topologies("fx-faithful") == ["faithful"] and len(repo.list_graphs("fx-faithful")) == 1


def test_relative_band_undoes_the_per_head_rescaling_in_the_faithful_topology(tmp_path):
    # Q x c, K x 1/c, V x c per head and the output projection x 1/c: the same function. The
    # faithful Q, K and V blocks are the real ones, so each block scales by one constant, which
    # the relative band divides out; the reference [Q; K; V] blocks mix q, k and v rows.
    from neuromfa.experiments.rescale import rescale_attention

    model = tiny_model("neox", seed=8)
    before = save(model, tmp_path / "before")
    after = save(rescale_attention(model, 3.0), tmp_path / "after")
    relative = AnalysisParams(mode="layered", band="relative", min_mass=3)
    moved = {"faithful": 0.0, "reference": 0.0, "faithful, absolute band": 0.0}
    for s in range(2):
        for what, topology, params in (("faithful", "faithful", relative), ("reference", "reference", relative),
                                       ("faithful, absolute band", "faithful", relative.model_copy(update={"band": "absolute"}))):
            a, b = (analyze_snin(snin_for_checkpoint(p, sample=s, k=K, topology=topology), params, device="cpu").spectrum
                    for p in (before, after))
            moved[what] = max(moved[what], abs(a.alpha0 - b.alpha0), abs(a.width - b.width))
    assert moved["faithful"] < 1e-12
    assert moved["reference"] > 1e-3 and moved["faithful, absolute band"] > 1e-3


@pytest.mark.parametrize("family", list(FAMILY_CONFIGS))
def test_every_family_builds_a_faithful_layer_dag(family, tmp_path):
    from model_builders import family_model

    path = save(family_model(family), tmp_path / family)
    with open_model(path) as source:
        adapter = adapter_for(source)
        draws = draws_for_sample(adapter.facts.sizes, adapter.facts.blocks, sample=0, k=4)
        g = build_snin(source, adapter, draws, topology="faithful")
    qkv = of_kind(g, "qkv")
    assert len(set(zip(g.layer[qkv].tolist(), g.index[qkv].tolist()))) == len(qkv)  # unique neuron ids
    mlp_in = "input" if adapter.facts.parallel_residual else "attn_out"
    assert len(edges_between(g, mlp_in, "mlp_hidden")) > 0
    params = AnalysisParams(mode="shortest-path", min_mass=0)
    exact, _, _ = box_hist(g, params)
    fast, _, _ = box_hist(g, params.model_copy(update={"mode": "layered"}), device="cpu")
    np.testing.assert_array_equal(fast, exact)
