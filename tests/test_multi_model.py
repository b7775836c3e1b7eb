"""results, emergence and plot spectrum of several models (real local server)."""

from __future__ import annotations

import dataclasses
import io

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from jobs_helpers import FIXTURE, store_graph
from matplotlib.container import ErrorbarContainer
from test_jobs_results import store_analysis
from typer.testing import CliRunner

from neuromfa import api
from neuromfa.base.errors import ConfigError, NeuromfaError
from neuromfa.cli.main import app
from neuromfa.ingest.build import snin_for_checkpoint
from neuromfa.plots.data import emergence_and_metrics, nfd_frame, spectra_frame
from neuromfa.plots.emergence import models_emergence_figure, plot_model_emergence
from neuromfa.plots.nfd import plot_model_nfd
from neuromfa.plots.spectrum import models_spectrum_figure
from neuromfa.schema.params import AnalysisParams
from neuromfa.schema.records import graph_id

K = 8
T150 = AnalysisParams(mode="one-hop", min_mass=3)
T50 = AnalysisParams(mode="one-hop", min_mass=3, threshold=50.0)


def test_several_models_in_results_emergence_and_plot(store, db_env, tmp_path):
    """a at steps 0 and 10, b (learned weights x 1.5) at step 0; two samples, two parameter sets.
    (One test: the analyses are the cost.)"""
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
    _plots_of_several_models(store, db_env, tmp_path)


def _pixels(path):
    return mpimg.imread(path)


def _plots_of_several_models(store, db_env, tmp_path):
    """plot emergence and nfd with several -m, on the models of the test above."""
    runner = CliRunner(env=db_env)

    def plot(*args: str):
        return runner.invoke(app, ["plot", *args])

    # emergence: -T 50 selects each model's T=50 set; the file is the two-model figure of those tables
    done = plot("emergence", "-m", "a", "-m", "b", "-T", "50", "--out", str(tmp_path / "em"))
    assert done.exit_code == 0, done.output
    tables = {p.threshold: {m: emergence_and_metrics(store, m, params=p)[0] for m in "ab"} for p in (T150, T50)}
    fig, drawn = models_emergence_figure(tables[50.0])
    assert drawn.steps == {"a": [0, 10], "b": [0]}
    assert all(len([c for c in ax.containers if isinstance(c, ErrorbarContainer)]) == 2 for ax in fig.axes)
    svg = (tmp_path / "em.svg").read_text()
    assert "a (2 steps)" in svg and "b (1 step)" in svg
    assert not np.array_equal(tables[50.0]["b"]["alpha0_mean"], tables[150.0]["b"]["alpha0_mean"])
    plot_model_emergence(tables[50.0], tmp_path / "em50")  # the tables differ, so would the pixels
    assert np.array_equal(_pixels(tmp_path / "em.png"), _pixels(tmp_path / "em50.png"))
    # one model: today's figure, metric axis included when asked
    done = plot("emergence", "-m", "a", "-T", "50", "--out", str(tmp_path / "a"))
    assert done.exit_code == 0 and "a (2 steps)" not in (tmp_path / "a.svg").read_text(), done.output

    # nfd: each model's last step by default; an aid of a's chooses the same set for b
    aid = T50.analysis_id(graph_id("a", 0, 0, K))
    done = plot("nfd", "-m", "a", "-m", "b", "--aid", aid, "--out", str(tmp_path / "nfd"))
    assert done.exit_code == 0, done.output
    svg = (tmp_path / "nfd.svg").read_text()
    assert "a (step 10)" in svg and "b (step 0)" in svg
    frames = {"a": nfd_frame(store, "a", step=10, params=T50), "b": nfd_frame(store, "b", step=0, params=T50)}
    plot_model_nfd(frames, {"a": 10, "b": 0}, tmp_path / "nfd50")
    assert np.array_equal(_pixels(tmp_path / "nfd.png"), _pixels(tmp_path / "nfd50.png"))
    done = plot("nfd", "-m", "a", "-m", "b", "-T", "150", "--step", "0", "--out", str(tmp_path / "nfd0"))
    assert done.exit_code == 0 and "a (step 0)" in (tmp_path / "nfd0.svg").read_text(), done.output

    # errors: each one line naming what is wrong, nothing written
    failed = {
        "no step": plot("nfd", "-m", "a", "-m", "b", "-T", "50", "--step", "10", "--out", str(tmp_path / "x1")),
        "twice": plot("emergence", "-m", "a", "-m", "a", "--out", str(tmp_path / "x2")),
        "twice nfd": plot("nfd", "-m", "b", "-m", "b", "--out", str(tmp_path / "x3")),
        "unknown": plot("emergence", "-m", "a", "-m", "nope", "--out", str(tmp_path / "x4")),
        "unknown nfd": plot("nfd", "-m", "nope", "-m", "a", "-T", "50", "--out", str(tmp_path / "x5")),
        "metric": plot("emergence", "-m", "a", "-m", "b", "--metric", "val_loss", "--out", str(tmp_path / "x6")),
    }
    for case, done in failed.items():
        assert done.exit_code == 1 and isinstance(done.exception, NeuromfaError), (case, done.output)
    assert str(failed["no step"].exception) == "model 'b' has no analysis at step 10 (analysed steps: 0)"
    assert isinstance(failed["twice"].exception, ConfigError) and "named twice" in str(failed["twice"].exception)
    assert "named twice" in str(failed["twice nfd"].exception)
    assert "'nope'" in str(failed["unknown"].exception) and "'nope'" in str(failed["unknown nfd"].exception)
    assert "metric draws one model's metric" in str(failed["metric"].exception)
    assert not list(tmp_path.glob("x*"))
