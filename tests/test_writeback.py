"""Write-back of analyses on the real local server: values equal the engine's, one transaction,
re-runs replace their own results, several parameter sets coexist."""

from __future__ import annotations

import numpy as np
import pytest
from jobs_helpers import COUNT_ANALYSES, COUNT_MEASURED, FIXTURE, count, settings_for, store_fixture

from neuromfa import api
from neuromfa.analysis.engine import analyze_snin
from neuromfa.base.errors import AnalysisError
from neuromfa.ingest.build import snin_for_checkpoint
from neuromfa.jobs.writeback import analysis_record, measured_rows
from neuromfa.schema.params import AnalysisParams
from neuromfa.schema.records import graph_id
from neuromfa.store.analyses import AnalysisRepository

ANALYSIS = "MATCH (a:Analysis {aid: $aid})-[:ANALYSIS_OF]->(g:Graph) RETURN properties(a) AS a, properties(g) AS g"
MEASURED = ("MATCH (n:Neuron)-[m:MEASURED]->(a:Analysis {aid: $aid}) "
            "RETURN n.uid AS uid, m.nfd AS nfd, m.mass AS mass")
ANALYSES_OF = "MATCH (a:Analysis)-[:ANALYSIS_OF]->(g:Graph {gid: $gid}) RETURN a.aid AS aid ORDER BY aid"


def stored_measured(store, aid: str) -> dict[str, tuple]:
    return {r["uid"]: (r["nfd"], r["mass"]) for r in store.read(MEASURED, aid=aid)}


def check_equal_to_engine(store, snin, gid: str, params: AnalysisParams) -> None:
    """The stored Analysis, Graph headline and MEASURED edges equal a direct engine run."""
    expected = analyze_snin(snin, params)
    s = expected.spectrum
    aid = params.analysis_id(gid)
    rows = store.read(ANALYSIS, aid=aid)
    assert len(rows) == 1
    a, g = rows[0]["a"], rows[0]["g"]
    for key in ("q", "tau", "alpha", "f", "r2"):
        np.testing.assert_allclose(a[key], getattr(s, key), rtol=0, atol=1e-12, err_msg=key)
    assert a["alpha0"] == pytest.approx(s.alpha0, abs=1e-12)
    assert a["width"] == pytest.approx(s.width, abs=1e-12)
    assert (a["nodes_used"], a["edges_used"], a["passed_filter"]) == (s.nodes_used, s.edges_used, s.passed_filter)
    assert (a["mode"], a["threshold"], a["graph"]) == (params.mode, params.threshold, gid)
    assert AnalysisParams.model_validate_json(a["params"]) == params
    assert a["seconds_pull"] > 0 and a["seconds_compute"] > 0 and a["seconds_write"] > 0
    assert (g["alpha0"], g["width"], g["analysis"], g["mode"]) == (a["alpha0"], a["width"], aid, params.mode)

    measured = stored_measured(store, aid)
    uids = [f"{gid}/{l}/{i}" for l, i in zip(snin.layer.tolist(), snin.index.tolist())]
    assert sorted(measured) == sorted(uids)
    nfd = np.array([measured[u][0] if measured[u][0] is not None else np.nan for u in uids], dtype=float)
    mass = np.array([measured[u][1] for u in uids])
    np.testing.assert_array_equal(np.isnan(nfd), np.isnan(expected.nfd))
    np.testing.assert_allclose(nfd[~np.isnan(nfd)], expected.nfd[~np.isnan(expected.nfd)], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(mass, expected.mass_T)
    assert np.isnan(expected.nfd).any() and (~np.isnan(expected.nfd)).any()  # both cases exercised


def test_end_to_end_values_equal_the_engine(store, graph_server):
    built = store_fixture(store, "neox", steps=(0, 100), samples=(0, 1))
    settings = settings_for(graph_server, store)
    report = api.analyze("neox", settings=settings, workers=2)  # the default mode: layered (a layer DAG)
    assert len(report.jids) == 4 and report.counts() == {"done": 4}
    params = AnalysisParams(mode="layered")
    assert report.params == params
    for (step, sample), snin in built.items():
        check_equal_to_engine(store, snin, graph_id("neox", step, sample, 32), params)

    df = api.results("neox", store=store)
    assert list(zip(df["step"], df["sample"])) == [(0, 0), (0, 1), (100, 0), (100, 1)]
    for row in df.itertuples():
        s = analyze_snin(built[(row.step, row.sample)], params).spectrum
        assert row.alpha0 == pytest.approx(s.alpha0, abs=1e-12)
        assert row.width == pytest.approx(s.width, abs=1e-12)
        assert row.r2_min == pytest.approx(min(s.r2), abs=1e-12)
        assert (row.mode, row.nodes_used, row.edges_used, bool(row.passed_filter)) == (
            "layered", s.nodes_used, s.edges_used, s.passed_filter)


def test_rerun_replaces_and_parameter_sets_coexist(store, graph_server):
    built = store_fixture(store, "neox", steps=(0,), samples=(0,))
    snin, gid = built[(0, 0)], graph_id("neox", 0, 0, 32)
    settings = settings_for(graph_server, store)
    sp, oh = AnalysisParams(), AnalysisParams(mode="one-hop")

    api.analyze("neox", params=sp, settings=settings)
    again = api.analyze("neox", params=sp, settings=settings)  # same parameters, done: skipped
    assert again.skipped == [gid] and again.jids == []
    api.analyze("neox", params=sp, force=True, settings=settings)  # forced: replaces its own
    assert [r["aid"] for r in store.read(ANALYSES_OF, gid=gid)] == [sp.analysis_id(gid)]
    assert count(store, COUNT_MEASURED) == snin.n_nodes
    check_equal_to_engine(store, snin, gid, sp)

    api.analyze("neox", params=oh, settings=settings)  # other parameters: both kept
    assert [r["aid"] for r in store.read(ANALYSES_OF, gid=gid)] == sorted([sp.analysis_id(gid), oh.analysis_id(gid)])
    assert count(store, COUNT_MEASURED) == 2 * snin.n_nodes
    check_equal_to_engine(store, snin, gid, oh)  # the headline is now the latest (one-hop)
    assert len(stored_measured(store, sp.analysis_id(gid))) == snin.n_nodes

    both = api.results("neox", all_analyses=True, store=store)
    assert sorted(both["mode"]) == ["one-hop", "shortest-path"]
    assert list(api.results("neox", store=store)["mode"]) == ["one-hop"]
    assert list(api.results("neox", mode="shortest-path", store=store)["mode"]) == ["shortest-path"]


def test_failed_write_back_leaves_the_previous_results(store):
    """A write-back that fails midway (a neuron it cannot match) rolls back whole: the earlier
    Analysis with the same aid and its MEASURED edges are still there, unchanged."""
    built = store_fixture(store, "neox", steps=(0,), samples=(0,))
    snin, gid = built[(0, 0)], graph_id("neox", 0, 0, 32)
    params = AnalysisParams(mode="one-hop")
    out = analyze_snin(snin, params)
    record = analysis_record(gid, params, out, seconds_pull=0.5)
    rows = measured_rows(snin, gid, out)
    AnalysisRepository(store).write_back(record, rows)
    before = stored_measured(store, record.aid)
    assert len(before) == snin.n_nodes

    bad = [dict(r) for r in rows]
    bad[-1]["uid"] = f"{gid}/999/0"  # no such neuron: detected after everything else was written
    changed = record.model_copy(update={"alpha0": 99.0})
    with pytest.raises(AnalysisError, match=f"has {snin.n_nodes - 1} of the {snin.n_nodes} analysed neurons"):
        AnalysisRepository(store).write_back(changed, bad)
    assert count(store, COUNT_ANALYSES) == 1
    assert store.read(ANALYSIS, aid=record.aid)[0]["a"]["alpha0"] == record.alpha0
    assert stored_measured(store, record.aid) == before


def test_measured_rows_store_null_for_ineligible():
    snin = snin_for_checkpoint(FIXTURE, sample=0)
    out = analyze_snin(snin, AnalysisParams(mode="one-hop"))
    rows = measured_rows(snin, "g", out)
    assert [r["nfd"] is None for r in rows] == np.isnan(out.nfd).tolist()
    assert [r["mass"] for r in rows] == out.mass_T.tolist()
    assert rows[0]["uid"] == f"g/{snin.layer[0]}/{snin.index[0]}"
