"""``layered`` gives exactly the ``shortest-path`` (igraph Dijkstra) masses on layered graphs."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neuromfa.analysis.engine import analyze_snin, box_hist
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
