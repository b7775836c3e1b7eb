"""results, emergence and plot spectrum of several models (real local server)."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pandas as pd
import pytest
from jobs_helpers import FIXTURE, store_graph
from test_jobs_results import store_analysis
from typer.testing import CliRunner

from neuromfa import api
from neuromfa.base.errors import ConfigError
from neuromfa.cli.main import app
from neuromfa.ingest.build import snin_for_checkpoint
from neuromfa.plots.data import spectra_frame
from neuromfa.plots.spectrum import models_spectrum_figure
from neuromfa.schema.params import AnalysisParams

K = 8
T150 = AnalysisParams(mode="one-hop", min_mass=3)
T50 = AnalysisParams(mode="one-hop", min_mass=3, threshold=50.0)


def test_several_models_in_results_emergence_and_plot(store, db_env, tmp_path):
    """a at steps 0 and 10, b (learned weights x 1.5) at step 0; two samples, two parameter sets."""
    for sample in (0, 1):
        for step in (0, 10):
            snin = snin_for_checkpoint(FIXTURE, sample=sample, k=K, seed_base=step)
            gid = store_graph(store, snin, "a", step, sample, K)
            for p in (T150, T50):
                store_analysis(store, snin, gid, p)
        base = snin_for_checkpoint(FIXTURE, sample=sample, k=K)
        b = dataclasses.replace(base, w=np.where(base.structural, base.w, base.w * 1.5))
        gid = store_graph(store, b, "b", 0, sample, K)
        for p in (T150, T50):
            store_analysis(store, b, gid, p)

    both = api.results(["a", "b"], threshold=50, store=store)
    assert list(both.columns)[0] == "model" and both["model"].tolist() == ["a"] * 4 + ["b"] * 2
    for m in "ab":
        alone = api.results(m, threshold=50, store=store)
        mine = both[both["model"] == m].drop(columns="model").reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, alone)
    assert set(both["threshold"]) == {50.0}
    # an aid of a's chooses the same parameter set for b
    aid = T50.analysis_id(both.loc[0, "gid"])
    pd.testing.assert_frame_equal(api.results(["a", "b"], aid=aid, store=store), both)
    with pytest.raises(ConfigError, match="several parameter sets coexist"):
        api.results(["a", "b"], store=store, mode="one-hop", null="none")
    with pytest.raises(ConfigError, match="named twice"):
        api.results(["a", "a"], store=store)

    em = api.emergence(["a", "b"], threshold=150, store=store)
    assert em[["model", "step"]].values.tolist() == [["a", 0], ["a", 10], ["b", 0]]
    pd.testing.assert_frame_equal(em[em["model"] == "b"].drop(columns="model").reset_index(drop=True),
                                  api.emergence("b", threshold=150, store=store))

    runner = CliRunner(env=db_env)
    out = runner.invoke(app, ["results", "-m", "a", "-m", "b", "-T", "50", "-f", "csv"])
    assert out.exit_code == 0, out.output
    shown = pd.read_csv(io.StringIO(out.output))
    assert shown["model"].tolist() == both["model"].tolist() and np.allclose(shown["alpha0"], both["alpha0"])
    out = runner.invoke(app, ["emergence", "-m", "a", "-m", "b", "-T", "150", "-f", "csv"])
    assert out.exit_code == 0 and pd.read_csv(io.StringIO(out.output))["model"].tolist() == ["a", "a", "b"], out.output

    drawn = runner.invoke(app, ["plot", "spectrum", "-m", "a", "-m", "b", "-T", "50", "--out", str(tmp_path / "ab")])
    assert drawn.exit_code == 0 and (tmp_path / "ab.png").exists() and (tmp_path / "ab.svg").exists(), drawn.output
    fig, summary = models_spectrum_figure({m: spectra_frame(store, m, params=T50) for m in "ab"})
    assert summary.steps == {"a": 10, "b": 0} and len(fig.axes[0].get_lines()) == 2
    assert "a (step 10, 2 samples)" in (tmp_path / "ab.svg").read_text()
    twice = runner.invoke(app, ["plot", "spectrum", "-m", "a", "-m", "a", "--out", str(tmp_path / "aa")])
    assert twice.exit_code == 1 and "named twice" in str(twice.exception)
