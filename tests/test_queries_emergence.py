"""E is one number: the named query `emergence` (queries/emergence.cypher) and the Python tables
(api.emergence: results.tables.emergence_frame over analysis/emergence.py) agree on the real
server in every case. Where Python refuses a model (w(t0) = 0, alpha_0 <= 0, an unknown
reference step, a step without a surviving sample), the query gives null E on the rows concerned
or leaves the step out, as its header says."""

from __future__ import annotations

import math

import pytest

from neuromfa.base.errors import AnalysisError, ConfigError
from neuromfa.queries import run_query
from neuromfa.results.tables import emergence_frame
from neuromfa.store.connection import Store

MODEL = "em"
CREATE = """
UNWIND $rows AS row
CREATE (g:Graph {gid: row.gid, model: $model, step: row.step, sample: row.sample, nodes: 10, edges: 20,
                 analysis: row.aid})
CREATE (a:Analysis {aid: row.aid, graph: row.gid, mode: 'one-hop', threshold: 150.0, params: 'p',
                    alpha0: row.alpha0, width: row.width, passed_filter: row.passed,
                    created: '2025-01-01T00:00:00'})
CREATE (a)-[:ANALYSIS_OF]->(g)
"""

# (step, sample, alpha0, width, passed the filter)
SEVERAL = [(0, 0, 2.0, 0.5, True), (0, 1, 2.2, 0.7, True), (0, 2, 2.4, 0.9, True),
           (10, 0, 1.8, 0.9, True), (10, 1, 1.5, 1.1, True), (10, 2, 1.7, 1.0, True),
           (20, 0, 1.2, 1.4, True), (20, 1, 1.1, 1.2, True), (20, 2, 1.3, 1.3, True)]


def _store_model(store: Store, rows: list[tuple]) -> None:
    store.write(CREATE, model=MODEL, rows=[
        {"gid": f"{MODEL}@{s}/s{k}", "aid": f"{MODEL}@{s}/s{k}#a", "step": s, "sample": k,
         "alpha0": a, "width": w, "passed": p} for s, k, a, w, p in rows])


def _query(store: Store, **params) -> list[dict]:
    df = run_query("emergence", store=store, model=MODEL, **params)
    return df.astype(object).where(df.notna(), None).to_dict("records")  # a null stays None, not NaN


def _assert_agree(store: Store, reference_step: int | None = None) -> list[dict]:
    """Every column both compute is the same number, row by row."""
    py = emergence_frame(store, MODEL, reference_step=reference_step).to_dict("records")
    cy = _query(store, reference_step=reference_step)
    assert [r["step"] for r in cy] == [r["step"] for r in py]
    for c, p in zip(cy, py):
        assert c["samples"] == p["n_passed"]
        for ours, theirs in (("alpha0", "alpha0_mean"), ("alpha0_std", "alpha0_std"), ("width", "width_mean"),
                             ("width_std", "width_std"), ("E", "E")):
            assert c[ours] is not None and math.isclose(c[ours], p[theirs], rel_tol=1e-12, abs_tol=1e-12), \
                (c["step"], ours, c[ours], p[theirs])
    return cy


def test_several_samples_per_step(store):
    _store_model(store, SEVERAL)
    rows = _assert_agree(store)
    assert rows[-1]["E"] > 0 and rows[0]["E"] == 0.0 and rows[0]["alpha0_std"] > 0
    _assert_agree(store, reference_step=10)


def test_one_sample_at_a_step_has_std_zero_in_both(store):
    _store_model(store, [(0, 0, 2.0, 0.5, True), (0, 1, 2.2, 0.7, True), (10, 0, 1.5, 1.0, True)])
    rows = _assert_agree(store)
    assert rows[1]["samples"] == 1 and rows[1]["alpha0_std"] == 0.0 and rows[1]["width_std"] == 0.0


def test_a_filtered_sample_is_left_out_by_both(store):
    _store_model(store, [*SEVERAL[:4], (10, 1, 0.3, 5.0, False), SEVERAL[5], *SEVERAL[6:]])
    rows = _assert_agree(store)
    assert rows[1]["samples"] == 2


def test_a_step_without_a_surviving_sample(store):
    _store_model(store, [*SEVERAL[:3], (10, 0, 1.5, 1.0, False), *SEVERAL[6:]])
    with pytest.raises(AnalysisError, match="no sample survived the filter"):
        emergence_frame(store, MODEL)
    assert [r["step"] for r in _query(store)] == [0, 20]


def test_a_zero_reference_width(store):
    _store_model(store, [(0, 0, 2.0, 0.0, True), (10, 0, 1.5, 1.0, True)])
    with pytest.raises(AnalysisError, match=r"reference width w\(t0\) is 0"):
        emergence_frame(store, MODEL)
    assert [r["E"] for r in _query(store)] == [None, None]
    # from another reference step both agree again
    _assert_agree(store, reference_step=10)


def test_a_non_positive_alpha0(store):
    _store_model(store, [(0, 0, 2.0, 0.5, True), (10, 0, -0.1, 1.0, True), (20, 0, 1.0, 1.0, True)])
    with pytest.raises(AnalysisError, match="alpha_0 must be positive"):
        emergence_frame(store, MODEL)
    rows = _query(store)
    assert rows[1]["E"] is None and math.isclose(rows[2]["E"], 2 * math.log(2.0), rel_tol=1e-12)


def test_an_unknown_reference_step(store):
    _store_model(store, SEVERAL)
    with pytest.raises(ConfigError, match="reference step 5 is not among"):
        emergence_frame(store, MODEL, reference_step=5)
    assert {(r["reference_step"], r["E"]) for r in _query(store, reference_step=5)} == {(None, None)}
