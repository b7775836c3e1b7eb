"""Null models and the relative band end to end: real checkpoints, the real server, the CLI.

- a checkpoint and a copy with every weight matrix x 3 give identical relative-band alpha_0 and
  width through ingest -> analyze -> results;
- the function-preserving attention rescaling of a Llama checkpoint (its own forward pass
  confirms the logits) leaves every relative-band metric unchanged;
- `analyze --null shuffle` on a training run leaves E as it was and gives E_null per step, which
  an independent shuffle written here (pandas groupby) reproduces within its sampling spread.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from jobs_helpers import settings_for
from model_builders import logits, save, scale_every_matrix, tiny_model
from training_presets import MINIMAL
from typer.testing import CliRunner

from neuromfa import api
from neuromfa.analysis.engine import analyze_snin
from neuromfa.cli.main import app
from neuromfa.experiments.rescale import rescale_attention
from neuromfa.ingest.build import snin_for_checkpoint
from neuromfa.schema.params import AnalysisParams
from neuromfa.schema.snin import SNIN
from neuromfa.store.graphs import GraphRepository
from neuromfa.training.train_example import train_example

K = 8


def test_relative_band_is_blind_to_a_x3_copy_through_the_database(store, graph_server, tmp_path):
    model = tiny_model("neox", seed=4)
    save(model, tmp_path / "ref")
    save(scale_every_matrix(model, 3.0), tmp_path / "x3")
    settings = settings_for(graph_server, store)
    for name in ("ref", "x3"):
        api.ingest(tmp_path / name, name=name, samples=2, k=K, store=store)
    got = {}
    for band in ("relative", "absolute"):
        for name in ("ref", "x3"):
            report = api.analyze(name, mode="layered", band=band, settings=settings)
            assert report.counts() == {"done": 2}, report.outcomes
            df = api.results(name, store=store)
            assert (df["band"] == band).all()
            got[(band, name)] = df[["alpha0", "width"]].to_numpy()
    assert np.allclose(got[("relative", "ref")], got[("relative", "x3")], rtol=0, atol=1e-9)
    assert not np.allclose(got[("absolute", "ref")], got[("absolute", "x3")], rtol=0, atol=1e-3)


@pytest.mark.parametrize("c", [1 / 3, 0.5, 2.0, 3.0])
def test_function_preserving_rescaling_leaves_the_relative_band_unchanged(tmp_path, c):
    model = tiny_model("llama", seed=2)
    before = logits(model)
    save(model, tmp_path / "ref")
    save(rescale_attention(model, c), tmp_path / "rescaled")
    assert np.abs(logits(model) - before).max() < 1e-4  # the model's own forward pass: same function
    moved = 0.0
    for mode in ("one-hop", "layered"):
        for sample in (0, 1):
            ref = snin_for_checkpoint(tmp_path / "ref", sample=sample, k=K)
            new = snin_for_checkpoint(tmp_path / "rescaled", sample=sample, k=K)
            rel = AnalysisParams(mode=mode, band="relative", min_mass=3)
            a, b = analyze_snin(ref, rel).spectrum, analyze_snin(new, rel).spectrum
            assert abs(a.alpha0 - b.alpha0) <= 1e-12 and abs(a.width - b.width) <= 1e-12
            assert a.tau == pytest.approx(b.tau, abs=1e-12)
            absolute = AnalysisParams(mode=mode, min_mass=3)
            moved = max(moved, abs(analyze_snin(ref, absolute).spectrum.alpha0 - analyze_snin(new, absolute).spectrum.alpha0))
    assert moved > 1e-3  # while the paper's absolute band moves


# -- emergence against the shuffle null, checked by an independent shuffle ------------------
def independent_shuffle(snin: SNIN, rng: np.random.Generator) -> np.ndarray:
    """Permute learned weights within (source layer, destination layer, destination part)
    groups, written without neuromfa's null module."""
    edges = pd.DataFrame({"w": snin.w, "s": snin.layer[snin.src], "d": snin.layer[snin.dst],
                          "p": snin.part[snin.dst], "learned": ~snin.structural})
    w = snin.w.copy()
    for _, group in edges[edges["learned"]].groupby(["s", "d", "p"]):
        w[group.index.to_numpy()] = rng.permutation(group["w"].to_numpy())
    return w


@pytest.fixture(scope="session")  # trained once for both servers' runs of the test
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("nullrun") / "minimal"
    train_example(out, preset=MINIMAL, seed=3)
    return out


def test_emergence_gives_e_null_and_keeps_e(store, graph_server, db_env, run_dir):
    settings = settings_for(graph_server, store)
    api.ingest(run_dir, name="run", samples=2, k=K, store=store)
    api.analyze("run", mode="one-hop", min_mass=3, settings=settings)
    plain = api.emergence("run", mode="one-hop", store=store)
    assert plain["E_null"].isna().all() and plain["E_struct"].isna().all()

    runner = CliRunner()
    res = runner.invoke(app, ["analyze", "--model", "run", "--mode", "one-hop", "--min-mass", "3",
                              "--null", "shuffle", "--null-samples", "5"], env=db_env)
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["emergence", "--model", "run", "--mode", "one-hop", "--format", "json"], env=db_env)
    assert res.exit_code == 0, res.output
    em = pd.DataFrame(json.loads(res.stdout))
    for col in ("E_null", "E_struct", "alpha0_null", "width_null", "alpha0_z", "width_z"):
        assert col in em and em[col].notna().all(), col
    assert np.allclose(em["E"], plain["E"], rtol=0, atol=1e-9)  # the authors' E is untouched
    assert np.allclose(em["E_struct"], em["E"] - em["E_null"], rtol=0, atol=1e-12)
    ref = em.iloc[0]
    e_null = em["width_null"] / ref["width_null"] * np.log(ref["alpha0_null"] / em["alpha0_null"])
    assert np.allclose(em["E_null"], e_null, rtol=0, atol=1e-12)

    # each graph's stored null mean against an independent shuffle of the pulled graph
    rows = store.read("MATCH (a:Analysis) WHERE a.null = 'shuffle' RETURN a.graph AS gid, "
                      "a.null_alpha0 AS a0, a.null_width AS w, a.null_alpha0_mean AS m, "
                      "a.null_width_mean AS wm, a.null_samples AS n")
    assert len(rows) == len(api.graphs("run", store=store)) and all(r["n"] == 5 for r in rows)
    rng = np.random.default_rng(12345)
    params = AnalysisParams(mode="one-hop", min_mass=3)
    independent = 20
    for r in rows:
        snin = GraphRepository(store).pull(r["gid"])
        draws = [analyze_snin(SNIN(**{**snin.__dict__, "w": independent_shuffle(snin, rng)}), params).spectrum
                 for _ in range(independent)]
        for stored, mean, mine in ((r["a0"], r["m"], [d.alpha0 for d in draws]),
                                   (r["w"], r["wm"], [d.width for d in draws])):
            assert mean == pytest.approx(np.mean(stored), abs=1e-15)
            # two means of 5 and 20 draws of one distribution: the spread of their difference
            # is sigma * sqrt(1/5 + 1/20), sigma estimated from all 25 draws
            sigma = np.std(np.concatenate([stored, mine]), ddof=1)
            assert abs(np.mean(mine) - mean) <= 4 * sigma * np.sqrt(1 / 5 + 1 / independent) + 1e-12, r
