"""results / emergence tables over stored analyses (real local server)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from jobs_helpers import store_fixture, store_graph

from neuromfa import api
from neuromfa.analysis.emergence import emergence, summarize_checkpoints
from neuromfa.analysis.engine import analyze_snin
from neuromfa.base.errors import ConfigError
from neuromfa.jobs.writeback import analysis_record, measured_rows
from neuromfa.schema.params import AnalysisParams
from neuromfa.schema.records import graph_id
from neuromfa.store.analyses import AnalysisRepository


def store_analysis(store, snin, gid: str, params: AnalysisParams):
    out = analyze_snin(snin, params)
    AnalysisRepository(store).write_back(analysis_record(gid, params, out), measured_rows(snin, gid, out))
    return out.spectrum


def test_results_list_unanalysed_graphs_with_empty_metrics(store):
    built = store_fixture(store, "neox", steps=(0,), samples=(0, 1))
    s = store_analysis(store, built[(0, 0)], graph_id("neox", 0, 0, 32), AnalysisParams(mode="one-hop"))
    df = api.results("neox", store=store)
    assert df["sample"].tolist() == [0, 1]
    assert df.loc[0, "alpha0"] == s.alpha0 and df.loc[0, "mode"] == "one-hop"
    assert df.loc[1, ["mode", "alpha0", "width", "r2_min", "aid"]].isna().all()


def test_emergence_needs_one_mode_and_matches_the_engine(store):
    built = store_fixture(store, "neox", steps=(0,), samples=(0, 1))
    for sample in (0, 1):  # step 5: the same neurons with stronger weights (a different spectrum)
        base = built[(0, sample)]
        built[(5, sample)] = dataclasses.replace(base, w=np.where(base.structural, base.w, base.w * 1.7))
        store_graph(store, built[(5, sample)], "neox", 5, sample, metrics={"val_loss": 3.0})
    sp, oh = AnalysisParams(), AnalysisParams(mode="one-hop")
    spectra = {}
    for (step, sample), snin in built.items():
        gid = graph_id("neox", step, sample, 32)
        spectra[(step, sample)] = store_analysis(store, snin, gid, sp)
        if sample == 1:  # the latest analysis of sample 1 graphs is one-hop
            store_analysis(store, snin, gid, oh)
    with pytest.raises(ConfigError, match="several modes"):
        api.emergence("neox", store=store)
    em = api.emergence("neox", mode="shortest-path", store=store)
    rows = [dict(step=st, sample=sa, alpha0=s.alpha0, width=s.width, passed_filter=s.passed_filter)
            for (st, sa), s in spectra.items()]
    expected = emergence(summarize_checkpoints(rows))
    assert em["step"].tolist() == [0, 5]
    assert em["E"].tolist() == [p.E for p in expected] and em.loc[1, "E"] != 0.0
    assert em["alpha0_mean"].tolist() == [p.alpha0_mean for p in expected]
    assert em["n_samples"].tolist() == [2, 2]
    assert em["val_loss"].isna().tolist() == [True, False] and em.loc[1, "val_loss"] == 3.0
    assert api.emergence("neox", reference_step=5, mode="shortest-path", store=store).loc[1, "E"] == 0.0
