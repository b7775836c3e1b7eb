"""The main job end to end on the real server, on the minimal training preset."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from cli_helpers import run_cli
from training_presets import MINIMAL

from neuromfa.demo import run_demo
from neuromfa.ingest.metrics_import import attach_metrics
from neuromfa.plots.data import nfd_frame, spectra_frame
from neuromfa.training.metrics_file import MetricRow


@pytest.fixture(scope="module")
def demo(module_store, tmp_path_factory):
    """One demo per server for the module (its tests read it, import metrics, rerun it)."""
    tmp_path = tmp_path_factory.mktemp("demo")
    report = run_demo(module_store, tmp_path / "demo", preset=MINIMAL, samples=2, k=8, workers=1)
    return module_store, tmp_path, report


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


def test_metrics_import_merges_into_checkpoints(demo, tmp_path, module_db_env, monkeypatch, capsys):
    store, _, report = demo
    csv = tmp_path / "scores.csv"
    csv.write_text("step,metric,value\n0,lambada_acc,0.01\n4,lambada_acc,0.2\n999999,lambada_acc,0.9\n")
    code, _, err = run_cli(monkeypatch, capsys, module_db_env, "metrics", "import", str(csv), "--model", report.model)
    assert code == 0, err
    assert "skipped step(s) with no stored checkpoint: 999999" in err
    rows = {r["step"]: json.loads(r["metrics"]) for r in
            store.read("MATCH (c:Checkpoint {model: $m}) RETURN c.step AS step, c.metrics AS metrics", m=report.model)}
    assert rows[0]["lambada_acc"] == 0.01 and rows[4]["lambada_acc"] == 0.2
    assert "val_loss" in rows[0]  # merged, not replaced
    assert "lambada_acc" not in rows[1]
    # the emergence plot can put the imported metric on its second axis
    png = tmp_path / "em"
    code, _, err = run_cli(monkeypatch, capsys, module_db_env, "plot", "emergence", "--model", report.model,
                           "--out", str(png), "--metric", "lambada_acc", "--mode", "layered")
    assert code == 0, err
    assert (tmp_path / "em.png").stat().st_size > 5000


def test_metrics_import_errors(demo):
    from neuromfa.base.errors import NotFoundError

    store = demo[0]
    with pytest.raises(NotFoundError, match="no stored checkpoints"):
        attach_metrics(store, "nope", [MetricRow(step=0, metric="m", value=1.0)])
