"""Spectra of small graphs computed by hand (closed forms and numpy.polyfit in the test)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from neuromfa.analysis.engine import analyze_snin, box_hist
from neuromfa.analysis.results import SpectrumResult
from neuromfa.analysis.spectrum import alpha0_rule, passes_filter
from neuromfa.base.errors import AnalysisError
from neuromfa.schema.params import AnalysisParams
from neuromfa.schema.snin import SNIN

Q5 = dict(q_min=-1.0, q_max=1.0, q_step=0.5)


def snin_of(n, edges, layer=None, kind=None):
    """edges: (src, dst, w). All nodes 'input' unless kinds given (so nothing is structural)."""
    src, dst, w = (np.array(c) for c in zip(*edges))
    return SNIN.from_columns(
        layer=layer if layer is not None else np.zeros(n),
        kind=kind if kind is not None else np.zeros(n, dtype=np.int8),
        block=np.zeros(n),
        index=np.arange(n),
        src=src,
        dst=dst,
        w=w,
    )


def two_node_graph():
    # A=0 -> 2 (d=2), A -> 3 (d=4), B=1 -> 4 (d=4, negative weight); out-of-band edges:
    # A -> 4 with d = 0.5 and B -> 2 with d = 1000 (> T = 150).
    return snin_of(5, [(0, 2, 0.5), (0, 3, 0.25), (1, 4, -0.25), (0, 4, 2.0), (1, 2, 0.001)])


def test_one_hop_two_radii_closed_form():
    out = analyze_snin(two_node_graph(), AnalysisParams(mode="one-hop", min_mass=0, **Q5))
    sp = out.spectrum
    q = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
    # R = {2, 4}; mu_A = (2/3, 1), mu_B = (1/2, 1); Z_q(4) = 2, so with x = (ln 1/2, 0):
    tau = np.array([(math.log(2) - math.log((2 / 3) ** v + 0.5**v)) / math.log(2) for v in q])
    alpha = np.diff(tau) / 0.5
    f = q[:-1] * alpha - tau[:-1]
    assert sp.radii == [2, 4]
    np.testing.assert_allclose(sp.tau, tau, atol=1e-12)
    np.testing.assert_allclose(sp.alpha, alpha, atol=1e-12)
    np.testing.assert_allclose(sp.f, f, atol=1e-12)
    np.testing.assert_allclose(sp.r2, 1.0, atol=1e-12)  # two radii: every fit is exact
    assert sp.width == pytest.approx(alpha.max() - alpha.min(), abs=1e-12)
    assert sp.tau[2] == 0.0
    # f peaks at q = 0 or its left neighbour (f = 0 there up to rounding): central difference.
    assert np.argmax(f) in (1, 2)
    assert sp.alpha0 == pytest.approx((tau[3] - tau[1]) / 1.0, abs=1e-12)
    assert (sp.nodes_used, sp.edges_used) == (2, 3)
    np.testing.assert_array_equal(out.mass_T, [3, 2, 1, 1, 1])
    np.testing.assert_array_equal(out.eligible, [True, True, False, False, False])
    # NFD: A has radii {2, 4} with N = 2, 3; B has a single radius: no slope.
    assert out.nfd[0] == pytest.approx(math.log(3 / 2) / math.log(2), abs=1e-12)
    assert np.isnan(out.nfd[1:]).all()


def test_min_mass_counts_nodes_excluding_self():
    # A has exactly 2 nodes within T: eligible for min_mass 1, not for min_mass 2.
    g = two_node_graph()
    assert analyze_snin(g, AnalysisParams(mode="one-hop", min_mass=1, **Q5)).eligible.tolist()[:2] == [True, False]
    with pytest.raises(AnalysisError, match="no node"):
        analyze_snin(g, AnalysisParams(mode="one-hop", min_mass=2, **Q5))


def test_rounding_half_to_even_and_least_squares():
    # Node 0 -> d 1.4, 2.5, 3.5, 2.6 -> rounded 1, 2, 4, 3; node 1 -> d 2.5, 4.5 -> 2, 4.
    g = snin_of(8, [(0, 2, 1 / 1.4), (0, 3, 1 / 2.5), (0, 4, 1 / 3.5), (0, 5, 1 / 2.6), (1, 6, 1 / 2.5), (1, 7, -1 / 4.5)])
    sp = analyze_snin(g, AnalysisParams(mode="one-hop", min_mass=0, **Q5)).spectrum
    assert sp.radii == [1, 2, 3, 4]
    n0 = np.array([2, 3, 4, 5])  # N_0(r) at r = 1..4
    n1 = np.array([1, 2, 2, 3])
    x = np.log(np.array([1, 2, 3, 4]) / 4)
    for k, q in enumerate(np.arange(-1.0, 1.01, 0.5)):
        y = np.log((n0 / 5) ** q + (n1 / 3) ** q)
        slope, icpt = np.polyfit(x, y, 1)
        r2 = 1 - ((y - (slope * x + icpt)) ** 2).sum() / ((y - y.mean()) ** 2).sum() if np.ptp(y) > 0 else 1.0
        assert sp.tau[k] == pytest.approx(slope, abs=1e-12)
        assert sp.r2[k] == pytest.approx(r2, abs=1e-12)
    assert min(sp.r2) < 0.999  # three points off a line: the fit quality is real


def test_shortest_path_masses_by_hand():
    # 0 -(2)-> 1 -(3)-> 2 -(4)-> 3 and a long edge 0 -(10)-> 2: D_02 = 5 via node 1.
    g = snin_of(4, [(0, 1, 0.5), (1, 2, 1 / 3), (2, 3, 0.25), (0, 2, 0.1)])
    params = AnalysisParams(mode="shortest-path", min_mass=0, **Q5)
    hist, _, _ = box_hist(g, params)
    expect = np.zeros_like(hist)
    for i, r in [(0, 2), (0, 5), (0, 9), (1, 3), (1, 7), (2, 4)]:
        expect[i, r] += 1
    np.testing.assert_array_equal(hist, expect)
    sp = analyze_snin(g, params).spectrum
    radii = np.array([2, 3, 4, 5, 7, 9])
    n = np.array([[2, 2, 2, 3, 3, 4], [1, 2, 2, 2, 3, 3], [1, 1, 2, 2, 2, 2]])
    mu = n / n[:, -1:]
    for k, q in enumerate([-1.0, -0.5, 0.0, 0.5, 1.0]):
        slope = np.polyfit(np.log(radii / 9), np.log((mu**q).sum(axis=0)), 1)[0]
        assert sp.tau[k] == pytest.approx(slope, abs=1e-12)
    # The cut-off applies to the path length: with T = 6, D = 7 and 9 fall out.
    cut, _, _ = box_hist(g, params.model_copy(update={"threshold": 6.0}))
    assert cut.sum(axis=1).tolist() == [2, 1, 1, 0]


def test_structural_edges_traverse_or_drop():
    # input(0) -(2)-> qkv(1) =(structural, w=1)=> context(2) -(3)-> attn_out(3)
    g = snin_of(4, [(0, 1, 0.5), (1, 2, 1.0), (2, 3, 1 / 3)], layer=[0, 1, 2, 3], kind=["input", "qkv", "context", "attn_out"])
    assert g.structural.tolist() == [False, True, False]
    base = AnalysisParams(mode="shortest-path", min_mass=0, **Q5)
    trav, e_t, _ = box_hist(g, base)
    drop, e_d, _ = box_hist(g, base.model_copy(update={"structural": "drop"}))
    # traverse: 0 reaches 1 at 2, 2 at 3, 3 at 6; 1 reaches 2 at 1 and 3 at 4.
    assert [np.flatnonzero(trav[i]).tolist() for i in range(4)] == [[2, 3, 6], [1, 4], [3], []]
    assert [np.flatnonzero(drop[i]).tolist() for i in range(4)] == [[2], [], [3], []]
    assert (e_t.n_edges, e_d.n_edges) == (3, 2)
    # one-hop never uses the structural edge
    hop, e_h, _ = box_hist(g, base.model_copy(update={"mode": "one-hop"}))
    assert hop.sum(axis=1).tolist() == [1, 0, 1, 0] and e_h.n_edges == 2


def test_alpha0_rule_branches():
    q = np.array([-1.0, 0.0, 1.0, 2.0])
    tau = np.array([-3.0, 0.0, 0.5, 0.6])
    alpha = np.diff(tau)  # [3, 0.5, 0.1]
    f = q[:-1] * alpha - tau[:-1]  # [0, 0, -0.4]: peak at q = -1, the left neighbour of 0
    assert alpha0_rule(q, tau, alpha, f) == pytest.approx((0.5 - -3.0) / 2.0)  # central difference
    f_far = np.array([-1.0, -1.0, 0.5])  # peak at q = 1: plain alpha there
    assert alpha0_rule(q, tau, alpha, f_far) == pytest.approx(0.1)


def test_filters():
    alpha = np.array([1.00, 1.20, 1.40])
    f_ok = np.array([-0.5, 1e-17, 0.0])  # rounding noise at q = 0 is not "f > 0"
    f_bad = np.array([-0.5, 0.01, 0.0])
    assert passes_filter(0, alpha, f_bad)
    assert passes_filter(1, alpha, f_ok) and not passes_filter(1, alpha, f_bad)
    assert not passes_filter(2, alpha, f_ok)  # max alpha - alpha(q_min) = 0.4 > 0.01
    assert passes_filter(2, alpha[::-1].copy(), f_bad)  # alpha(q_min) is the max
    assert not passes_filter(3, alpha[::-1].copy(), f_bad) and not passes_filter(3, alpha, f_ok)
    assert passes_filter(3, alpha[::-1].copy(), f_ok)


def test_spectrum_result_round_trips_through_json():
    sp = analyze_snin(two_node_graph(), AnalysisParams(mode="one-hop", min_mass=0, **Q5)).spectrum
    text = sp.model_dump_json()
    assert SpectrumResult.model_validate_json(text) == sp
    assert json.loads(text)["nodes_used"] == 2
