"""`neuromfa validity` / results.validity: the rank correlations against hand-computed cases,
then the table of a stored run (and of three runs) on the real server, and its CLI."""

from __future__ import annotations

import json
import math
import shutil
import subprocess

import numpy as np
import pytest
from jobs_helpers import CLI, FIXTURE, settings_for
from safetensors.numpy import load_file, save_file
from scipy.stats import spearmanr
from typer.testing import CliRunner

from neuromfa import api
from neuromfa.analysis.correlation import partial_spearman, spearman
from neuromfa.analysis.sweep import SweepResult, sweep_row
from neuromfa.base.errors import AnalysisError, ConfigError
from neuromfa.cli.main import app
from neuromfa.ingest.pipeline import ingest_path
from neuromfa.results.validity import default_negate, sweep_with_baselines, validity_table
from neuromfa.schema.params import AnalysisParams


# -- the statistics, by hand -----------------------------------------------------------------
def test_partial_spearman_equals_the_hand_computed_case():
    x, y, z = [1, 2, 3, 4, 5], [2, 1, 4, 3, 5], [1, 2, 3, 5, 4]
    # Spearman by 1 - 6 sum d^2 / (n (n^2 - 1)), n = 5: sum d^2 = 4, 2, 8
    r_xy, r_xz, r_yz = 1 - 6 * 4 / 120, 1 - 6 * 2 / 120, 1 - 6 * 8 / 120  # 0.8, 0.9, 0.6
    assert spearman(x, y) == pytest.approx(r_xy)
    assert spearman(x, z) == pytest.approx(r_xz) and spearman(y, z) == pytest.approx(r_yz)
    want = (0.8 - 0.9 * 0.6) / math.sqrt((1 - 0.81) * (1 - 0.36))  # 0.26 / sqrt(0.1216) = 0.74560...
    assert partial_spearman(x, y, z) == pytest.approx(want, abs=1e-12)
    assert partial_spearman(x, y, z) == pytest.approx(0.7456011350793258, abs=1e-12)


def test_rank_correlations_on_ties_missing_values_and_degenerate_input():
    x, y = [1.0, 2.0, 2.0, 3.0, 5.0, None], [3.0, 1.0, 2.0, 2.0, 7.0, 1.0]
    assert spearman(x, y) == pytest.approx(spearmanr(x[:5], y[:5]).statistic, abs=1e-12)  # the None row dropped
    assert spearman([1, 2], [2, 1]) is None  # too few points
    assert spearman([1, 1, 1, 1], [1, 2, 3, 4]) is None  # constant
    assert partial_spearman([1, 2, 3], [1, 2, 3], [3, 1, 2]) is None  # below four points
    z = [1, 2, 3, 4, 5]
    assert partial_spearman(z, [2, 1, 4, 3, 5], z) is None  # x is the control: nothing left
    assert partial_spearman([10, 20, 30, 40, 50], [2, 1, 4, 3, 5], z) is None  # a monotone function of it
    assert default_negate("val_loss") and default_negate("perplexity") and not default_negate("token_accuracy")


# -- a stored run ------------------------------------------------------------------------------
STEPS = (0, 10, 20)
SCALE = {0: 1.0, 10: 1.6, 20: 1.3}  # weight scale per step: log_rms is not the loss order
RUNS = {"va": (0, 1.0), "vb": (10, 1.4), "vc": (20, 0.8)}  # model -> (seed offset, extra scale)


def _loss(model: str, step: int) -> float:
    return 5.0 - 0.03 * step + {"va": 0.0, "vb": 0.25, "vc": -0.4}[model] + (0.2 if step == 20 else 0.0)


def _run(tmp_path, model: str):
    """The fixture checkpoint, its matrices scaled and perturbed per step (no model to build)."""
    offset, extra = RUNS[model]
    root = tmp_path / model
    weights = load_file(FIXTURE / "model.safetensors")
    for step in STEPS:
        rng = np.random.default_rng(offset + step)
        folder = root / f"step{step}"
        folder.mkdir(parents=True)
        save_file({k: (v * (SCALE[step] * extra) * (1 + 0.3 * rng.standard_normal(v.shape))).astype(v.dtype)
                   if v.ndim == 2 else v for k, v in weights.items()}, folder / "model.safetensors")
        shutil.copy(FIXTURE / "config.json", folder)
        (folder / "metrics.json").write_text(json.dumps({"val_loss": _loss(model, step), "acc": step}))
    return root


@pytest.fixture
def runs(store, graph_server, tmp_path):
    settings = settings_for(graph_server, store)
    for model in RUNS:
        ingest_path(store, _run(tmp_path, model), name=model, samples=1, k=8)
        api.analyze(model, mode="one-hop", min_mass=3, null="shuffle", null_samples=2, settings=settings, wait=False)
    assert api.work(once=True, store=store) == len(RUNS) * len(STEPS)  # in this process: no pool to start
    return store


def test_validity_of_runs_matches_its_tables(runs, db_env, tmp_path):
    store = runs
    report = validity_table(store, "va")
    assert (report.against, report.negate, report.n_checkpoints) == ("-val_loss", True, 3)
    rows = {r.quantity: r for r in report.rows}
    assert set(rows) >= {"E", "E_null", "E_struct", "alpha0", "width", "alpha0_excess", "width_excess",
                         "log_rms", "log_norm", "log_spectral_norm"}
    table = api.emergence("va", store=store)
    score = -table["val_loss"]
    for quantity, column in (("E", "E_mean"), ("width", "width_mean"), ("log_rms", "log_rms"), ("log_norm", "log_norm")):
        assert rows[quantity].spearman == pytest.approx(spearmanr(table[column], score).statistic, abs=1e-12), quantity
        assert rows[quantity].n_points == 3
    excess = table["width_mean"] - table["width_null"]
    assert rows["width_excess"].spearman == pytest.approx(spearmanr(excess, score).statistic, abs=1e-12)
    assert rows["E"].partial_spearman is None  # three checkpoints: too few for a partial rho
    assert rows["log_rms"].kind == "baseline"
    assert rows["E"].mode == "one-hop" and rows["E"].null == "shuffle" and rows["log_rms"].mode is None
    # the metric as given (no negation) flips every sign
    plain = {r.quantity: r for r in validity_table(store, "va", negate=False).rows}
    assert plain["E"].spearman == pytest.approx(-rows["E"].spearman)

    # the sweep's table: E's row per T, then each baseline's own rho with the metric
    params = AnalysisParams(mode="one-hop", min_mass=3, null="shuffle", null_samples=2)
    sweep = SweepResult(model="va", params=[params], rows=[sweep_row(params, table, ["val_loss"])]).frame()
    both = sweep_with_baselines(store, "va", sweep, [params])
    assert list(both["quantity"]) == ["E", "log_rms", "log_norm", "log_spectral_norm"]
    assert both["prho_val_loss"].tolist() == [None] * 4  # three steps: too few for a partial rho
    assert both.loc[1, "rho_val_loss"] == pytest.approx(spearmanr(table["log_rms"], table["val_loss"]).statistic)
    assert both.loc[0, "rho_val_loss"] == pytest.approx(sweep.loc[0, "rho_val_loss"])

    # three runs: pooled over 12 checkpoints, and across the runs at each step
    three = validity_table(store, list(RUNS))
    assert three.n_checkpoints == 9
    pooled = {m: api.emergence(m, store=store) for m in RUNS}
    columns = {"E": "E_mean", "alpha0": "alpha0_mean", "width": "width_mean", "E_null": "E_null", "log_norm": "log_norm"}
    partials = {}
    for r in three.rows:
        if r.quantity in columns:  # pooled over the nine checkpoints, given log_rms
            x, y, z = ([v for m in RUNS for v in pooled[m][c].tolist()] for c in (columns[r.quantity], "val_loss", "log_rms"))
            want = partial_spearman(x, [-v for v in y], z)
            assert r.partial_spearman == (None if want is None else pytest.approx(want, abs=1e-12)), r.quantity
            assert r.spearman == pytest.approx(spearmanr(x, [-v for v in y]).statistic, abs=1e-12), r.quantity
            partials[r.quantity] = r.partial_spearman
    assert sum(v is not None for v in partials.values()) >= 3  # the comparison above is not of Nones
    assert next(r for r in three.rows if r.quantity == "log_rms").partial_spearman is None  # the control itself
    e = next(r for r in three.rows if r.quantity == "log_rms")
    tables = {m: api.emergence(m, store=store).set_index("step") for m in RUNS}
    per_step = [spearmanr([tables[m].loc[s, "log_rms"] for m in RUNS], [-tables[m].loc[s, "val_loss"] for m in RUNS]).statistic
                for s in STEPS]
    assert e.across_runs_steps == 3 and e.across_runs == pytest.approx(np.mean(per_step), abs=1e-12)
    assert "across_runs_rho(-val_loss)" in three.frame().columns
    assert "across_runs_rho(-val_loss)" not in report.frame().columns

    # the CLI: the table with its explicit column names, and the figure
    res = CliRunner().invoke(app, ["validity", "--model", "va", "--format", "json", "--plot", str(tmp_path / "fig")],
                             env=db_env)
    assert res.exit_code == 0, res.output
    got = {r["quantity"]: r for r in json.loads(res.stdout)}
    assert got["E"]["rho(-val_loss)"] == pytest.approx(rows["E"].spearman, abs=1e-12)
    assert got["E"]["partial_rho(-val_loss|log_rms)"] == pytest.approx(rows["E"].partial_spearman, abs=1e-12)
    assert (tmp_path / "fig.png").stat().st_size > 0 and (tmp_path / "fig.svg").is_file()
    res = CliRunner().invoke(app, ["validity", "--model", "va", "--plot", str(tmp_path / "no" / "fig")], env=db_env)
    assert isinstance(res.exception, ConfigError) and "is not an existing folder" in str(res.exception)

    # errors: one line each
    with pytest.raises(ConfigError, match="has the metric 'bleu'") as err:
        validity_table(store, "va", "bleu")
    assert "acc, val_loss" in str(err.value.hint)
    done = subprocess.run([*CLI, "validity", "--model", "va", "--metric", "bleu"], env=db_env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 1 and done.stderr.startswith("error: no checkpoint of 'va' has the metric 'bleu'")
    assert "hint: stored metrics: acc, val_loss" in done.stderr and "Traceback" not in done.stderr


def test_validity_refuses_unanalysed_models_and_too_few_checkpoints(store, graph_server, tmp_path):
    root = tmp_path / "two"
    for step in (0, 10):
        shutil.copytree(FIXTURE, root / f"step{step}")
        (root / f"step{step}" / "metrics.json").write_text(json.dumps({"val_loss": 5.0 - step}))
    ingest_path(store, root, name="two", samples=1, k=8)
    with pytest.raises(AnalysisError, match="no analysis yet"):
        validity_table(store, "two")
    api.analyze("two", mode="one-hop", min_mass=3, settings=settings_for(graph_server, store))
    with pytest.raises(AnalysisError, match="only 2 checkpoint"):
        validity_table(store, "two")
    with pytest.raises(ConfigError, match="at least one model"):
        validity_table(store, [])


def test_validity_keeps_parameter_sets_of_different_runs_apart(store, graph_server, tmp_path):
    """Run va analysed at T=100 only and vb at T=150 only: two E rows of three checkpoints each,
    not one row pooling T=100 and T=150 values under one label."""
    settings = settings_for(graph_server, store)
    for model, threshold in (("va", 100.0), ("vb", 150.0)):
        ingest_path(store, _run(tmp_path, model), name=model, samples=1, k=8)
        api.analyze(model, mode="one-hop", min_mass=3, threshold=threshold, settings=settings, wait=False)
    assert api.work(once=True, store=store) == 2 * len(STEPS)
    report = validity_table(store, ["va", "vb"])
    e_rows = [r for r in report.rows if r.quantity == "E"]
    assert sorted((r.threshold, r.n_points) for r in e_rows) == [(100.0, 3), (150.0, 3)]
    assert len({r.label for r in report.rows}) == len(report.rows)


def test_validity_notes_a_control_that_orders_the_checkpoints_as_the_metric(store, graph_server, tmp_path):
    """val_loss = -scale: log_rms orders the three checkpoints exactly as -val_loss. Its rho is 1
    only up to rounding (1 - 2e-16 at three points), and the note must say so all the same."""
    root = _run(tmp_path, "va")
    for step in STEPS:
        (root / f"step{step}" / "metrics.json").write_text(json.dumps({"val_loss": -SCALE[step]}))
    ingest_path(store, root, name="va", samples=1, k=8)
    api.analyze("va", mode="one-hop", min_mass=3, settings=settings_for(graph_server, store))
    report = validity_table(store, "va")
    assert next(r for r in report.rows if r.quantity == "log_rms").spearman == pytest.approx(1.0)
    assert any("orders the checkpoints exactly" in n for n in report.notes), report.notes
