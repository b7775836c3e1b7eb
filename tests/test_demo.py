"""The main job end to end on the real server, on the minimal training preset."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from training_presets import MINIMAL

from neuromfa.demo import run_demo
from neuromfa.ingest.metrics_import import attach_metrics
from neuromfa.plots.data import nfd_frame, spectra_frame
from neuromfa.training.metrics_file import MetricRow


@pytest.fixture
def demo(store, tmp_path):
    report = run_demo(store, tmp_path / "demo", preset=MINIMAL, samples=2, k=8, workers=1)
    return store, tmp_path, report


def test_demo_tables_figures_and_rerun(demo):
    store, tmp_path, report = demo
    steps = report.steps
    assert steps[0] == 0 and len(steps) >= 4
    assert report.graphs == 2 * len(steps)
    for result in report.results:
        table = pd.DataFrame(result.table)
        assert table["step"].tolist() == steps
        assert table.loc[0, "E_mean"] == 0.0  # E(t0) = 0 by definition
        assert table["val_loss"].notna().all() and table["n_samples"].eq(2).all()
        assert result.spearman_E_val_loss is not None and -1.0 <= result.spearman_E_val_loss <= 1.0
        assert result.spearman_p is not None
        assert result.null == "shuffle" and table["E_null"].notna().all()
        assert (table["E_struct"] - (table["E"] - table["E_null"])).abs().max() < 1e-12
        assert result.spearman_E_struct_val_loss is not None
    assert {p.name for p in report.figures} == {
        f"{stem}.{ext}" for stem in ("emergence", "emergence-one-hop", "emergence-relative", "spectra", "nfd")
        for ext in ("png", "svg")}
    assert all(p.stat().st_size > 5000 for p in report.figures)
    # figures hold what the database holds
    spectra = spectra_frame(store, report.model, "layered")
    assert len(spectra) == report.graphs
    nfd = nfd_frame(store, report.model, "layered")
    assert set(nfd["kind"]) <= {"input", "qkv", "context", "attn_out", "mlp_hidden", "output"}
    nodes = store.read("MATCH (n:Neuron) WHERE n.graph STARTS WITH $p RETURN count(n) AS n",
                       p=f"{report.model}@{steps[-1]}/")[0]["n"]
    assert len(nfd) == nodes

    counts = store.read("MATCH (a:Analysis) RETURN count(a) AS n")[0]["n"]
    again = run_demo(store, tmp_path / "demo", preset=MINIMAL, samples=2, k=8, workers=1)
    assert store.read("MATCH (a:Analysis) RETURN count(a) AS n")[0]["n"] == counts == 3 * report.graphs
    assert again.seconds["train"] < report.seconds["train"]
    assert again.seconds["analyze paths"] < report.seconds["analyze paths"]
    assert [r.table for r in again.results] == [r.table for r in report.results]


def test_metrics_import_merges_into_checkpoints(demo, tmp_path, db_env):
    store, _, report = demo
    csv = tmp_path / "scores.csv"
    csv.write_text("step,metric,value\n0,lambada_acc,0.01\n4,lambada_acc,0.2\n999999,lambada_acc,0.9\n")
    out = subprocess.run([sys.executable, "-m", "neuromfa.cli", "metrics", "import", str(csv), "--model", report.model],
                         env=db_env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "skipped step(s) with no stored checkpoint: 999999" in out.stderr
    rows = {r["step"]: json.loads(r["metrics"]) for r in
            store.read("MATCH (c:Checkpoint {model: $m}) RETURN c.step AS step, c.metrics AS metrics", m=report.model)}
    assert rows[0]["lambada_acc"] == 0.01 and rows[4]["lambada_acc"] == 0.2
    assert "val_loss" in rows[0]  # merged, not replaced
    assert "lambada_acc" not in rows[1]
    # the emergence plot can put the imported metric on its second axis
    png = tmp_path / "em"
    out = subprocess.run([sys.executable, "-m", "neuromfa.cli", "plot", "emergence", "--model", report.model,
                          "--out", str(png), "--metric", "lambada_acc", "--mode", "layered"], env=db_env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "em.png").stat().st_size > 5000


def test_metrics_import_errors(store):
    from neuromfa.base.errors import NotFoundError

    with pytest.raises(NotFoundError, match="no stored checkpoints"):
        attach_metrics(store, "nope", [MetricRow(step=0, metric="m", value=1.0)])
