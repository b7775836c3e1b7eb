"""Training-run discovery and checkpoint metrics."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from neuromfa.base.errors import ConfigError, ModelError, NotFoundError
from neuromfa.ingest.build import snin_for_checkpoint
from neuromfa.ingest.checkpoints import discover_checkpoints, read_metrics

FIXTURE = Path(__file__).parent / "fixtures" / "neox-h64-l2"


def run_dir(tmp_path: Path, names: list[str]) -> Path:
    run = tmp_path / "run"
    for n in names:
        shutil.copytree(FIXTURE, run / n)
    return run


def test_model_directory_is_one_checkpoint():
    (ref,) = discover_checkpoints(FIXTURE)
    assert ref.step == 0 and ref.path == FIXTURE
    step, path = discover_checkpoints(FIXTURE, step=143000)[0]
    assert (step, path) == (143000, FIXTURE)
    assert ref.metrics == {}


def test_model_file_is_one_checkpoint():
    (ref,) = discover_checkpoints(FIXTURE / "model.safetensors", step=5)
    assert ref.step == 5


def test_run_directory_sorted_by_step(tmp_path):
    run = run_dir(tmp_path, ["step1000", "step0", "step512", "step64"])
    (run / "notes").mkdir()
    (run / "step7.txt").write_text("not a checkpoint folder")
    refs = discover_checkpoints(run)
    assert [r.step for r in refs] == [0, 64, 512, 1000]
    assert [r.path.name for r in refs] == ["step0", "step64", "step512", "step1000"]
    # every checkpoint of the run gets the same neurons for the same sample
    a, b = (snin_for_checkpoint(r.path, sample=1, k=16) for r in (refs[0], refs[-1]))
    np.testing.assert_array_equal(a.index, b.index)


def test_trainer_checkpoints_and_step_filter(tmp_path):
    run = run_dir(tmp_path, ["checkpoint-20", "checkpoint-5"])
    assert [r.step for r in discover_checkpoints(run)] == [5, 20]
    (only,) = discover_checkpoints(run, step=20)
    assert only.path.name == "checkpoint-20"
    with pytest.raises(NotFoundError) as err:
        discover_checkpoints(run, step=7)
    assert "5, 20" in err.value.hint


def test_duplicate_step(tmp_path):
    run = run_dir(tmp_path, ["step10", "checkpoint-10"])
    with pytest.raises(ModelError) as err:
        discover_checkpoints(run)
    assert "10" in str(err.value)


def test_metrics(tmp_path):
    run = run_dir(tmp_path, ["step0", "step100"])
    (run / "step100" / "metrics.json").write_text(json.dumps({"val_loss": 3.25, "token_accuracy": 0.41, "epoch": 1}))
    refs = discover_checkpoints(run)
    assert refs[0].metrics == {}
    assert refs[1].metrics == {"val_loss": 3.25, "token_accuracy": 0.41, "epoch": 1.0}
    assert read_metrics(run / "step100" / "model.safetensors") == refs[1].metrics


@pytest.mark.parametrize("content", ["{broken", "[1, 2]", json.dumps({"val_loss": "low"}), json.dumps({"x": float("nan")}), json.dumps({"ok": True})])
def test_bad_metrics(tmp_path, content):
    run = run_dir(tmp_path, ["step0"])
    (run / "step0" / "metrics.json").write_text(content)
    with pytest.raises(ModelError) as err:
        discover_checkpoints(run)[0].metrics
    assert "metrics.json" in str(err.value)


def test_nothing_to_ingest(tmp_path):
    with pytest.raises(ModelError):
        discover_checkpoints(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError) as err:
        discover_checkpoints(tmp_path / "empty")
    assert "stepN" in err.value.hint
    with pytest.raises(ConfigError):
        discover_checkpoints(FIXTURE, step=-1)
