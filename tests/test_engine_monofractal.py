"""Vertex-transitive graphs with equal weights are monofractal: every node sees the same box
masses, so Z_q(r) = N mu(r)^q, tau is linear in q and the width is 0."""

from __future__ import annotations

import numpy as np
import pytest

from neuromfa.analysis.engine import analyze_snin
from neuromfa.base.errors import AnalysisError
from neuromfa.schema.params import AnalysisParams
from neuromfa.schema.snin import SNIN


def snin_of(n, src, dst, w):
    return SNIN.from_columns(
        layer=np.zeros(n), kind=np.zeros(n, dtype=np.int8), block=np.zeros(n), index=np.arange(n), src=src, dst=dst, w=w
    )


def ring(n, w):
    i = np.arange(n)
    return snin_of(n, i, (i + 1) % n, np.full(n, w))


def torus(side, w):
    i = np.arange(side * side)
    x, y = i % side, i // side
    right, down = (x + 1) % side + y * side, x + ((y + 1) % side) * side
    left, up = (x - 1) % side + y * side, x + ((y - 1) % side) * side
    src = np.tile(i, 4)
    dst = np.concatenate([right, down, left, up])
    return snin_of(side * side, src, dst, np.full(len(src), w))


@pytest.mark.parametrize(
    "graph",
    [ring(40, 0.5), ring(120, -0.5), torus(12, 1 / 3), torus(15, 0.2)],
    ids=["ring40-d2", "ring120-d2-cut-at-T", "torus12-d3", "torus15-d5"],
)
def test_vertex_transitive_graphs_are_monofractal(graph):
    out = analyze_snin(graph, AnalysisParams(mode="shortest-path"))
    sp = out.spectrum
    assert sp.nodes_used == graph.n_nodes
    assert len(sp.radii) > 3
    assert abs(sp.width) <= 1e-9
    assert np.ptp(out.mass_T) == 0


def test_ring_masses_grow_linearly():
    out = analyze_snin(ring(40, 0.5), AnalysisParams(mode="shortest-path"))
    # from every node the ring reaches the other 39 nodes at 2, 4, ..., 78
    assert out.spectrum.radii == list(range(2, 79, 2))
    assert out.mass_T.tolist() == [40] * 40
    # N(r) = 1 + r/2 ~ r: the node fractal dimension of a chain tends to 1
    assert np.allclose(out.nfd, out.nfd[0]) and 0.85 < out.nfd[0] <= 1.0


def test_breaking_the_symmetry_gives_a_width():
    # the same ring with random weights in the band is no longer vertex-transitive
    rng = np.random.default_rng(0)
    g = ring(60, rng.uniform(0.05, 0.9, 60))
    assert analyze_snin(g, AnalysisParams(mode="shortest-path")).spectrum.width > 0.01


def test_layered_mode_refuses_a_ring():
    with pytest.raises(AnalysisError, match="within one layer"):
        analyze_snin(ring(10, 0.5), AnalysisParams(mode="layered"))
