"""neuromfa compare: models side by side under one parameter set (real local server)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from jobs_helpers import FIXTURE, store_graph
from test_jobs_results import store_analysis
from typer.testing import CliRunner

from neuromfa import api
from neuromfa.analysis.engine import analyze_snin
from neuromfa.base.errors import ConfigError
from neuromfa.cli.main import app
from neuromfa.ingest.build import snin_for_checkpoint
from neuromfa.plots.data import spectra_frame
from neuromfa.results.compare import pooled_std
from neuromfa.schema.params import AnalysisParams

K = 8
T150 = AnalysisParams(mode="one-hop", min_mass=3)
T50 = AnalysisParams(mode="one-hop", min_mass=3, threshold=50.0)
NULL = AnalysisParams(mode="one-hop", min_mass=3, null="shuffle", null_samples=2)


def test_pooled_std():
    assert pooled_std([1.0, 3.0], [3, 3]) == pytest.approx(math.sqrt(5.0))
    assert math.isnan(pooled_std([0.0, 0.0], [1, 1]))


def test_compare_two_models(store, db_env, tmp_path):
    """a: the fixture's samples 0 and 1; b: the same with learned weights x 1.5 (another spectrum)."""
    snins = {("a", s): snin_for_checkpoint(FIXTURE, sample=s, k=K) for s in (0, 1)}
    for s in (0, 1):
        base = snins[("a", s)]
        snins[("b", s)] = dataclasses.replace(base, w=np.where(base.structural, base.w, base.w * 1.5))
    for (model, sample), snin in snins.items():
        gid = store_graph(store, snin, model, 0, sample, K)
        for p in (T150, T50, NULL):
            store_analysis(store, snin, gid, p)
    with pytest.raises(ConfigError, match="several parameter sets coexist .*one-hop: T=150.*T=50"):
        api.compare(["a", "b"], store=store)
    df = api.compare(["a", "b"], threshold=50, store=store)
    assert set(df["quantity"]) == {"alpha0", "width"} and set(df["mode"]) == {"one-hop"}
    got = df.set_index(["quantity", "model"])
    a0 = {m: np.asarray([analyze_snin(snins[(m, s)], T50).spectrum.alpha0 for s in (0, 1)]) for m in "ab"}
    assert got.loc[("alpha0", "b"), "mean"] == pytest.approx(a0["b"].mean(), abs=1e-12)
    assert got.loc[("alpha0", "b"), "std"] == pytest.approx(a0["b"].std(ddof=1), abs=1e-12)
    diff = a0["b"].mean() - a0["a"].mean()
    assert got.loc[("alpha0", "b"), "diff"] == pytest.approx(diff, abs=1e-12) and diff != 0
    pooled = pooled_std([a0["a"].std(ddof=1), a0["b"].std(ddof=1)], [2, 2])
    assert got.loc[("alpha0", "b"), "diff_pooled_std"] == pytest.approx(diff / pooled)
    assert got.loc[("alpha0", "a"), ["diff", "diff_pooled_std"]].isna().all()

    nulls = api.compare(["a", "b"], null="shuffle", store=store).set_index(["quantity", "model"])
    assert {"alpha0_excess", "width_excess"} <= set(nulls.index.get_level_values(0))
    stored = store.read("MATCH (a:Analysis) WHERE a.graph STARTS WITH 'b@' AND a.null = 'shuffle' "
                        "RETURN a.alpha0 - a.null_alpha0_mean AS excess")
    assert len(stored) == 2
    assert nulls.loc[("alpha0_excess", "b"), "mean"] == pytest.approx(np.mean([r["excess"] for r in stored]), abs=1e-12)

    # the same filters choose a parameter set in results and emergence
    res = api.results("a", threshold=50, store=store)
    assert len(res) == 2 and set(res["aid"]) == {T50.analysis_id(g) for g in res["gid"]}
    with pytest.raises(ConfigError, match="several parameter sets coexist .*T=150, band absolute, null shuffle x 2.* [|] T=150, band absolute, min_mass 3"):
        api.emergence("a", threshold=150, store=store)
    em = api.emergence("a", threshold=150, null="none", store=store)
    assert em.loc[0, "alpha0_mean"] == pytest.approx(np.mean([analyze_snin(snins[("a", s)], T150).spectrum.alpha0
                                                              for s in (0, 1)]), abs=1e-12)
    assert api.emergence("a", aid=T50.analysis_id(res.loc[0, "gid"]), store=store).loc[0, "alpha0_mean"] == \
        pytest.approx(a0["a"].mean(), abs=1e-12)
    shown = CliRunner(env=db_env).invoke(app, ["results", "-m", "a", "-T", "50", "-f", "csv"])
    assert shown.exit_code == 0 and shown.output.count("\n") == 3 and ",50.0," in shown.output, shown.output

    spectra = spectra_frame(store, "a", params=T50)
    assert [list(a) for a in spectra["alpha"]] == [list(analyze_snin(snins[("a", s)], T50).spectrum.alpha) for s in (0, 1)]
    drawn = CliRunner(env=db_env).invoke(app, ["plot", "spectrum", "-m", "a", "-T", "50", "--out", str(tmp_path / "s")])
    assert drawn.exit_code == 0 and (tmp_path / "s.png").exists(), drawn.output

    out = CliRunner(env=db_env).invoke(app, ["compare", "a", "b", "-T", "50"])
    assert out.exit_code == 0, out.output
    assert "one-hop: T=50, band absolute" in out.output and "diff / pooled std" in out.output
    again = CliRunner(env=db_env).invoke(app, ["compare", "a", "b"])
    assert again.exit_code == 1


def test_compare_counts_only_the_samples_that_passed_the_filter(store, graph_server):
    """With --filter 2 a sample of c1 fails the filter: compare's n and mean are those of the
    samples that passed, as in the emergence table, not of every sample."""
    from jobs_helpers import settings_for

    from neuromfa.ingest.pipeline import ingest_path

    for model, seed_base in (("c1", 0), ("c2", 50)):
        ingest_path(store, FIXTURE, name=model, samples=4, k=4, seed_base=seed_base)
        api.analyze(model, filter=2, settings=settings_for(graph_server, store))
    table = api.emergence("c1", store=store)
    assert table.loc[0, "n_passed"] < table.loc[0, "n_samples"]  # the case at hand
    got = api.compare(["c1", "c2"], store=store).set_index(["quantity", "model"])
    assert got.loc[("alpha0", "c1"), "n"] == table.loc[0, "n_passed"]
    assert got.loc[("alpha0", "c1"), "mean"] == pytest.approx(table.loc[0, "alpha0_mean"], abs=1e-12)
    assert got.loc[("width", "c1"), "mean"] == pytest.approx(table.loc[0, "width_mean"], abs=1e-12)
