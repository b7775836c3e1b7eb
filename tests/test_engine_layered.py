"""``layered`` gives exactly the ``shortest-path`` (igraph Dijkstra) masses on layered graphs and on any
layer DAG (edges that skip layers, several transitions into one layer)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neuromfa.analysis.band import Edges, radius_bins
from neuromfa.analysis.engine import analyze_snin, box_hist
from neuromfa.analysis.layered import layered_hists
from neuromfa.analysis.shortest_path import shortest_path_hist
from neuromfa.base.errors import AnalysisError
from neuromfa.schema.layers import KINDS
from neuromfa.schema.params import AnalysisParams
from neuromfa.schema.snin import SNIN

# Distances including exact rounding ties (x.5), decimals whose float64 path sums land a hair
# off x.5 (1.2 + 2.4 + 3.9 = 7.499999999999999; float32 would give 7.5), values near 1 and
# out-of-band ones (<= 1, > T).
DISTANCES = [0.5, 1.0, 1.1, 1.2, 1.3, 1.5, 1.8, 2.0, 2.3, 2.4, 2.5, 2.8, 3.1, 3.3, 3.5, 3.7, 3.9,
             4.5, 7.3, 12.5, 40.0, 99.9, 149.6, 150.0, 150.4, 300.0]


@st.composite
def layered_graphs(draw):
    sizes = draw(st.lists(st.integers(1, 7), min_size=2, max_size=9))
    layer = np.repeat(np.arange(len(sizes)), sizes)
    # layer L has kind KINDS[L % 5]: layer 1 -> 2 is qkv -> context, i.e. structural (w = 1)
    kind = np.array([KINDS[L % 5] for L in layer])
    starts = np.concatenate([[0], np.cumsum(sizes)])
    src, dst, w = [], [], []
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    density = draw(st.floats(0.2, 1.0))
    use_random = draw(st.booleans())
    for L in range(len(sizes) - 1):
        for a in range(starts[L], starts[L + 1]):
            for b in range(starts[L + 1], starts[L + 2]):
                if rng.random() > density:
                    continue
                if L % 5 == 1:
                    weight = 1.0
                elif use_random:
                    weight = rng.choice([-1, 1]) / rng.uniform(0.8, 60.0)
                else:
                    weight = rng.choice([-1, 1]) / rng.choice(DISTANCES)
                    if rng.random() < 0.2:
                        weight = 1.0  # |w| = 1, d = 1: a learned weight just outside the band
                src.append(a), dst.append(b), w.append(weight)
    if not src:
        src, dst, w = [0], [starts[1]], [0.25]
    return SNIN.from_columns(
        layer=layer, kind=kind, block=np.zeros(len(layer)), index=np.arange(len(layer)), src=src, dst=dst, w=w
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    g=layered_graphs(),
    threshold=st.sampled_from([2.0, 3.0, 5.5, 7.5, 10.0, 150.0]),
    structural=st.sampled_from(["traverse", "drop"]),
)
def test_layered_masses_equal_shortest_path(g, threshold, structural):
    params = AnalysisParams(mode="shortest-path", threshold=threshold, structural=structural, min_mass=0)
    try:
        exact, e_exact, _ = box_hist(g, params)
    except AnalysisError:
        # no learned weight in the band: layered must refuse the same input
        try:
            box_hist(g, params.model_copy(update={"mode": "layered"}), device="cpu")
        except AnalysisError:
            return
        raise AssertionError("layered accepted a graph that shortest-path refused")
    fast, e_fast, _ = box_hist(g, params.model_copy(update={"mode": "layered"}), device="cpu")
    np.testing.assert_array_equal(fast, exact)
    assert e_fast.n_edges == e_exact.n_edges


def test_layered_spectrum_equals_shortest_path_on_a_deep_random_graph():
    rng = np.random.default_rng(7)
    sizes = [6, 18, 6, 6, 12] * 4 + [6]
    layer = np.repeat(np.arange(len(sizes)), sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    pairs = [
        np.stack(np.meshgrid(np.arange(starts[L], starts[L + 1]), np.arange(starts[L + 1], starts[L + 2]), indexing="ij"), -1).reshape(-1, 2)
        for L in range(len(sizes) - 1)
    ]
    e = np.concatenate(pairs)
    w = rng.normal(0, 0.05, len(e))
    kind = np.array([KINDS[L % 5] for L in layer])
    structural = (kind[e[:, 0]] == "qkv") & (kind[e[:, 1]] == "context")
    w[structural] = 1.0
    g = SNIN.from_columns(layer=layer, kind=kind, block=layer // 5, index=np.arange(len(layer)), src=e[:, 0], dst=e[:, 1], w=w)
    a = analyze_snin(g, AnalysisParams(mode="shortest-path", min_mass=3))
    b = analyze_snin(g, AnalysisParams(mode="layered", min_mass=3), device="cpu")
    np.testing.assert_array_equal(a.mass_T, b.mass_T)
    assert a.spectrum.model_dump(exclude={"mode"}) == b.spectrum.model_dump(exclude={"mode"})
    np.testing.assert_array_equal(a.nfd, b.nfd)
    assert b.device == "cpu"


@st.composite
def layer_dags(draw):
    """A random layer DAG: layers at shuffled positions (topological order != position order),
    edges between any two layers in a random topological order (skips and fan-in), structural
    edges where the endpoint kinds say so (w = 1)."""
    n_layers = draw(st.integers(2, 7))
    sizes = draw(st.lists(st.integers(1, 6), min_size=n_layers, max_size=n_layers))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    position = rng.permutation(n_layers) * draw(st.sampled_from([1, 3]))  # rank -> layer position
    kind_of = rng.choice(len(KINDS), n_layers)
    rank = np.repeat(np.arange(n_layers), sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    link = draw(st.floats(0.3, 1.0))  # chance that two layers are joined by a transition
    density = draw(st.floats(0.3, 1.0))
    src, dst, w = [], [], []
    for K in range(n_layers):
        for L in range(K + 1, n_layers):
            if rng.random() > link:
                continue
            structural = (KINDS[kind_of[K]], KINDS[kind_of[L]]) == ("qkv", "context")
            for a in range(starts[K], starts[K + 1]):
                for b in range(starts[L], starts[L + 1]):
                    if rng.random() < density:
                        src.append(a), dst.append(b)
                        w.append(1.0 if structural else rng.choice([-1, 1]) / rng.choice(DISTANCES))
    if not src:
        src, dst, w = [0], [starts[1]], [0.25]
    perm = rng.permutation(len(rank))  # node ids not grouped by layer
    inv = np.argsort(perm)
    return SNIN.from_columns(
        layer=position[rank][perm], kind=kind_of[rank][perm], block=np.zeros(len(rank)), index=np.arange(len(rank)),
        src=inv[src], dst=inv[dst], w=w,
    )


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(g=layer_dags(), threshold=st.sampled_from([2.0, 4.0, 7.5, 150.0]), structural=st.sampled_from(["traverse", "drop"]))
def test_layered_masses_equal_shortest_path_on_any_layer_dag(g, threshold, structural):
    params = AnalysisParams(mode="shortest-path", threshold=threshold, structural=structural, min_mass=0)
    try:
        exact, _, _ = box_hist(g, params)
    except AnalysisError:
        return  # no learned weight in the band (the case is covered above)
    fast, _, _ = box_hist(g, params.model_copy(update={"mode": "layered"}), device="cpu")
    np.testing.assert_array_equal(fast, exact)


def test_null_draws_on_a_layer_dag_batch_like_one_by_one():
    # skips and fan-in: 0 -> 1 -> 2 -> 3 plus 0 -> 2, 0 -> 3, 1 -> 3
    rng = np.random.default_rng(3)
    sizes = [5, 6, 4, 5]
    layer = np.repeat(np.arange(4), sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    pairs = [(0, 1), (1, 2), (2, 3), (0, 2), (0, 3), (1, 3)]
    e = np.concatenate([np.stack(np.meshgrid(np.arange(starts[K], starts[K + 1]), np.arange(starts[L], starts[L + 1]),
                                             indexing="ij"), -1).reshape(-1, 2) for K, L in pairs])
    edge_sets = [Edges(n_nodes=len(layer), src=e[:, 0], dst=e[:, 1], d=rng.choice(DISTANCES[2:20], len(e)), n_learned=len(e))
                 for _ in range(3)]
    batch = layered_hists(edge_sets, layer, 10.0, radius_bins(10.0, len(layer)), device="cpu")
    for j, edges in enumerate(edge_sets):
        np.testing.assert_array_equal(batch[j], shortest_path_hist(edges, 10.0, radius_bins(10.0, len(layer))))


def test_layered_refuses_a_cycle_of_layers_and_edges_within_a_layer():
    def graph(layer, src, dst):
        return SNIN.from_columns(layer=layer, kind=np.zeros(len(layer), np.int8), block=np.zeros(len(layer)),
                                 index=np.arange(len(layer)), src=src, dst=dst, w=np.full(len(src), 0.25))

    params = AnalysisParams(mode="layered", min_mass=0)
    with pytest.raises(AnalysisError, match="form a cycle"):
        analyze_snin(graph([0, 1, 2], [0, 1, 2], [1, 2, 0]), params, device="cpu")
    with pytest.raises(AnalysisError, match="within one layer"):
        analyze_snin(graph([0, 0, 1], [0, 1], [1, 2]), params, device="cpu")
