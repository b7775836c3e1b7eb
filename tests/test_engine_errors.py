"""Bad inputs fail with a NeuromfaError whose message says what is wrong and what to do."""

from __future__ import annotations

import numpy as np
import pydantic
import pytest

from neuromfa.analysis.engine import analyze_snin
from neuromfa.base.errors import AnalysisError, ConfigError
from neuromfa.schema.params import AnalysisParams
from neuromfa.schema.snin import SNIN

MODES = ["one-hop", "shortest-path", "layered"]


def chain(w, n=None):
    """0 -> 1 -> 2 -> ... in consecutive layers (valid for every mode)."""
    w = np.asarray(w, dtype=float)
    n = n or len(w) + 1
    return SNIN.from_columns(
        layer=np.arange(n), kind=np.zeros(n, dtype=np.int8), block=np.zeros(n), index=np.arange(n),
        src=np.arange(len(w)), dst=np.arange(1, len(w) + 1), w=w,
    )


def empty():
    z = np.zeros(0)
    return SNIN.from_columns(layer=z, kind=z.astype(np.int8), block=z, index=z, src=z, dst=z, w=z)


@pytest.mark.parametrize("mode", MODES)
def test_empty_graph(mode):
    with pytest.raises(AnalysisError, match="is empty") as err:
        analyze_snin(empty(), AnalysisParams(mode=mode))
    assert err.value.hint


@pytest.mark.parametrize("mode", MODES)
def test_all_weights_outside_the_band(mode):
    # |w| >= 1 (d <= 1) and |w| < 1/T (d > T): no learned edge is usable
    g = chain([1.0, -2.0, 0.001, 0.0])
    with pytest.raises(AnalysisError, match="outside the band 1 < d <= 150") as err:
        analyze_snin(g, AnalysisParams(mode=mode))
    assert "threshold" in err.value.hint


@pytest.mark.parametrize("mode", MODES)
def test_no_eligible_node(mode):
    # a chain of 5 in-band edges: nobody reaches more than 10 nodes
    with pytest.raises(AnalysisError, match="no node .* more than min_mass=10") as err:
        analyze_snin(chain([0.1] * 5), AnalysisParams(mode=mode))
    assert "min_mass" in err.value.hint


def test_nan_weights_are_refused():
    with pytest.raises(AnalysisError, match="NaN/inf"):
        analyze_snin(chain([0.1, float("nan"), 0.1]), AnalysisParams())


def test_q_grid_without_zero_is_refused_by_the_params():
    with pytest.raises(pydantic.ValidationError, match="does not contain q = 0"):
        AnalysisParams(q_min=-2.95, q_max=3.0, q_step=0.1)


def test_a_single_radius_cannot_be_fitted():
    # every node's successors sit at the same distance: one radius, no slope
    n = 13
    src = np.zeros(n - 1, dtype=int)
    g = SNIN.from_columns(layer=np.r_[0, np.ones(n - 1)], kind=np.zeros(n, dtype=np.int8), block=np.zeros(n),
                          index=np.arange(n), src=src, dst=np.arange(1, n), w=np.full(n - 1, 0.5))
    with pytest.raises(AnalysisError, match="single radius"):
        analyze_snin(g, AnalysisParams(mode="one-hop"))


def test_absurd_threshold_is_a_config_error():
    with pytest.raises(pydantic.ValidationError, match="less than or equal to 1000000"):
        AnalysisParams(threshold=1e12)  # beyond the parameter bound (neuromfa.base.limits)
    # within it, the radius table of a graph this size is still refused before it is allocated
    with pytest.raises(ConfigError, match="radius table"):
        analyze_snin(chain([0.1] * 499), AnalysisParams(threshold=1e6))
