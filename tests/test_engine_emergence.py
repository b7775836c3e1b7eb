"""Per-checkpoint aggregation and the degree of emergence E(t)."""

from __future__ import annotations

import math

import pytest

from neuromfa.analysis.emergence import emergence, summarize_checkpoints
from neuromfa.analysis.results import SampleValue
from neuromfa.base.errors import AnalysisError, ConfigError

# Over training alpha_0 falls and the width grows (the paper's Pythia runs).
RUN = [
    # step, sample, alpha0, width, passed_filter
    (0, 0, 1.50, 0.20, True),
    (0, 1, 1.52, 0.22, True),
    (0, 2, 9.99, 9.99, False),  # filtered out: must not count
    (1000, 0, 1.40, 0.30, True),
    (1000, 1, 1.44, 0.34, True),
    (4000, 0, 1.20, 0.50, True),
    (4000, 1, 1.24, 0.46, True),
    (4000, 2, 1.22, 0.48, True),
]


def rows(data=RUN):
    return [dict(step=s, sample=k, alpha0=a, width=w, passed_filter=p) for s, k, a, w, p in data]


def test_summaries_are_mean_and_population_std_over_survivors():
    summ = summarize_checkpoints(rows())
    assert [s.step for s in summ] == [0, 1000, 4000]
    s0 = summ[0]
    assert s0.n_samples == 2
    assert s0.alpha0_mean == pytest.approx(1.51)
    assert s0.alpha0_std == pytest.approx(0.01)
    assert s0.width_mean == pytest.approx(0.21) and s0.width_std == pytest.approx(0.01)
    assert summ[2].n_samples == 3 and summ[2].alpha0_std == pytest.approx(math.sqrt(2 * 0.02**2 / 3))
    # objects with attributes work as rows too
    assert summarize_checkpoints([SampleValue(**r) for r in rows()]) == summ


def test_emergence_is_zero_at_reference_and_positive_as_alpha0_falls_and_width_grows():
    pts = emergence(summarize_checkpoints(rows()))
    assert pts[0].E == 0.0 and pts[0].E_mean == 0.0 and pts[0].E_std == 0.0
    expected_1000 = (0.32 / 0.21) * math.log(1.51 / 1.42)
    assert pytest.approx(expected_1000) == pts[1].E
    assert 0 < pts[1].E < pts[2].E
    # per-sample E over the samples that line up with step 0 (sample 2 was filtered at step 0)
    e0 = (0.50 / 0.20) * math.log(1.50 / 1.20)
    e1 = (0.46 / 0.22) * math.log(1.52 / 1.24)
    assert pts[2].n_paired == 2
    assert pts[2].E_mean == pytest.approx((e0 + e1) / 2)
    assert pts[2].E_std == pytest.approx(abs(e0 - e1) / 2)


def test_reference_step_can_be_chosen_and_flips_the_sign_before_it():
    pts = emergence(summarize_checkpoints(rows()), reference_step=1000)
    by_step = {p.step: p.E for p in pts}
    assert by_step[1000] == 0.0
    assert by_step[0] < 0 < by_step[4000]
    with pytest.raises(ConfigError, match="reference step 5"):
        emergence(summarize_checkpoints(rows()), reference_step=5)


def test_zero_reference_width_is_an_error_not_inf():
    data = [(0, 0, 1.5, 0.0, True), (10, 0, 1.4, 0.3, True)]
    with pytest.raises(AnalysisError, match="w\\(t0\\) is 0"):
        emergence(summarize_checkpoints(rows(data)))


def test_missing_values_are_errors():
    with pytest.raises(AnalysisError, match="step 10 sample 0"):
        summarize_checkpoints(rows([(0, 0, 1.5, 0.2, True), (10, 0, None, 0.3, True)]))
    with pytest.raises(AnalysisError, match="step 10 sample 0"):
        summarize_checkpoints(rows([(0, 0, 1.5, 0.2, True), (10, 0, 1.4, float("nan"), True)]))
    # a checkpoint whose samples all failed the filter has no value to compute E from
    summ = summarize_checkpoints(rows([(0, 0, 1.5, 0.2, True), (10, 0, 1.4, 0.3, False)]))
    assert summ[1].n_samples == 0 and summ[1].alpha0_mean is None
    with pytest.raises(AnalysisError, match="step 10"):
        emergence(summ)
    with pytest.raises(AnalysisError, match="no checkpoint"):
        emergence([])
    with pytest.raises(AnalysisError, match="appears twice"):
        summarize_checkpoints(rows([(0, 0, 1.5, 0.2, True), (0, 0, 1.4, 0.3, True)]))


def test_spearman_with_metric():
    import pandas as pd

    from neuromfa.analysis.emergence import spearman_with

    table = pd.DataFrame({"step": [0, 1, 2, 3], "E_mean": [0.0, 0.1, 0.3, 0.2], "val_loss": [5.0, 4.0, 2.0, 3.0]})
    rho, p = spearman_with(table)
    assert rho == pytest.approx(-1.0) and p < 0.01  # ranks exactly reversed
    table["val_loss"] = [5.0, 4.0, 3.0, 2.0]
    assert spearman_with(table)[0] == pytest.approx(-0.8)  # 1 - 6*2/(4*15)
    assert spearman_with(table.head(2)) is None
    assert spearman_with(table.drop(columns="val_loss")) is None
