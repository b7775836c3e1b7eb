"""train_example on the minimal preset: checkpoints, metrics, determinism, cache, resume."""

from __future__ import annotations

import json
import math

import pytest
import torch
import typer
from safetensors.torch import load_file
from training_presets import MINIMAL
from transformers import GPTNeoXForCausalLM
from typer.testing import CliRunner

from neuromfa.base.errors import ConfigError, NotFoundError
from neuromfa.cli.console import error_lines
from neuromfa.cli.train_commands import register
from neuromfa.training import presets
from neuromfa.training.corpus import load_corpus
from neuromfa.training.presets import checkpoint_steps
from neuromfa.training.train_example import (
    RESUME_FILE,
    TrainProgress,
    evaluate,
    load_run,
    train_example,
    validation_batches,
)

EXPECTED_STEPS = [0, 1, 2, 4, 8, 16, 20]


def _weights(run_dir, step):
    return load_file(str(run_dir / f"step{step}" / "model.safetensors"))


def _same_weights(a, b) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "minimal"
    events: list[TrainProgress] = []
    info = train_example(out, preset=MINIMAL, seed=0, progress=events.append)
    return info, events


def test_checkpoints_at_the_expected_steps(run):
    info, _ = run
    assert checkpoint_steps(MINIMAL.steps, MINIMAL.log_until, MINIMAL.every) == EXPECTED_STEPS
    assert info.steps == EXPECTED_STEPS
    assert [c.step for c in info.checkpoints] == EXPECTED_STEPS
    dirs = sorted(p.name for p in info.out_dir.iterdir() if p.name.startswith("step"))
    assert dirs == sorted(f"step{s}" for s in EXPECTED_STEPS)
    # Nothing temporary is left behind once the run is complete.
    assert not [p for p in info.out_dir.iterdir() if p.name.startswith(".")]
    assert not info.cached


def test_metrics_are_finite_and_loss_falls(run):
    info, _ = run
    for c in info.checkpoints:
        metrics = json.loads((c.path / "metrics.json").read_text())
        assert set(metrics) == {"val_loss", "token_accuracy"}
        assert math.isfinite(metrics["val_loss"]) and 0.0 <= metrics["token_accuracy"] <= 1.0
        assert metrics["val_loss"] == c.val_loss
    first, last = info.checkpoints[0], info.checkpoints[-1]
    # At initialisation the loss is near ln(vocab); training must lower it clearly.
    assert abs(first.val_loss - math.log(258)) < 0.3
    assert last.val_loss < first.val_loss - 0.5


def test_checkpoints_load_with_transformers_and_reproduce_their_metrics(run):
    info, _ = run
    corpus = load_corpus(max_train_bytes=MINIMAL.train_bytes, max_val_bytes=MINIMAL.val_bytes)
    val = validation_batches(corpus, MINIMAL)
    for step in (0, 20):
        model = GPTNeoXForCausalLM.from_pretrained(info.checkpoint_dir(step))
        assert model.config.hidden_size == MINIMAL.hidden
        assert model.config.num_hidden_layers == MINIMAL.blocks
        assert model.config.initializer_range == 0.02
        metrics = evaluate(model, val)
        stored = json.loads((info.checkpoint_dir(step) / "metrics.json").read_text())
        assert metrics["val_loss"] == pytest.approx(stored["val_loss"], abs=1e-5)
        assert metrics["token_accuracy"] == pytest.approx(stored["token_accuracy"], abs=1e-9)


def test_initial_weights_have_std_0_02(run):
    info, _ = run
    w = _weights(info.out_dir, 0)["gpt_neox.layers.0.mlp.dense_h_to_4h.weight"]
    assert float(w.std()) == pytest.approx(0.02, rel=0.1)


def test_run_json_describes_the_run(run):
    info, _ = run
    data = json.loads((info.out_dir / "run.json").read_text())
    assert data["status"] == "complete"
    assert data["preset"] == "minimal" and data["seed"] == 0
    assert data["steps"] == EXPECTED_STEPS
    assert data["corpus"]["kind"] == "stdlib" and data["corpus"]["files_val"] >= 1
    assert data["config"]["model"]["hidden_size"] == MINIMAL.hidden
    assert load_run(info.out_dir).checkpoints == info.checkpoints


def test_progress_reports_every_step_and_checkpoint(run):
    _, events = run
    train_steps = [e.step for e in events if e.phase == "train"]
    assert train_steps == list(range(1, MINIMAL.steps + 1))
    assert [e.step for e in events if e.phase == "checkpoint"] == EXPECTED_STEPS
    assert events[-1].phase == "done"


def test_same_seed_gives_identical_weights_and_metrics(run, tmp_path):
    info, _ = run
    again = train_example(tmp_path / "again", preset=MINIMAL, seed=0)
    assert [c.val_loss for c in again.checkpoints] == [c.val_loss for c in info.checkpoints]
    assert [c.token_accuracy for c in again.checkpoints] == [c.token_accuracy for c in info.checkpoints]
    for step in EXPECTED_STEPS:
        assert _same_weights(_weights(info.out_dir, step), _weights(again.out_dir, step)), step


def test_another_seed_gives_other_weights(run, tmp_path):
    info, _ = run
    other = train_example(tmp_path / "other", preset=MINIMAL, seed=1)
    assert not _same_weights(_weights(info.out_dir, 0), _weights(other.out_dir, 0))


def test_rerun_reuses_the_cache(run):
    info, _ = run
    before = {p.name: p.stat().st_mtime_ns for p in info.out_dir.rglob("*")}
    events: list[TrainProgress] = []
    again = train_example(info.out_dir, preset=MINIMAL, seed=0, progress=events.append)
    assert again.cached
    assert [e.phase for e in events] == ["cached"]
    assert again.checkpoints == info.checkpoints
    assert {p.name: p.stat().st_mtime_ns for p in info.out_dir.rglob("*")} == before


def test_training_leaves_torch_settings_as_they_were(run, tmp_path):
    threads = torch.get_num_threads()
    det = torch.are_deterministic_algorithms_enabled()
    state = torch.get_rng_state()
    train_example(tmp_path / "r", preset=MINIMAL, seed=3)
    assert torch.get_num_threads() == threads
    assert torch.are_deterministic_algorithms_enabled() == det
    assert torch.equal(torch.get_rng_state(), state)


class _Stop(Exception):
    pass


def test_interrupted_run_resumes_to_identical_weights(run, tmp_path):
    info, _ = run
    out = tmp_path / "killed"

    def stop_after_11(p: TrainProgress) -> None:
        if p.phase == "train" and p.step == 11:
            raise _Stop

    with pytest.raises(_Stop):
        train_example(out, preset=MINIMAL, seed=0, progress=stop_after_11)
    assert json.loads((out / "run.json").read_text())["status"] == "running"
    assert (out / RESUME_FILE).is_file()
    assert sorted(p.name for p in out.glob("step*")) == sorted(f"step{s}" for s in (0, 1, 2, 4, 8))
    with pytest.raises(NotFoundError, match="not complete"):
        load_run(out)
    # A half-written checkpoint from a killed writer is cleaned up, never taken as complete.
    (out / ".step16.tmp").mkdir()
    (out / ".step16.tmp" / "config.json").write_text("{}")

    events: list[TrainProgress] = []
    resumed = train_example(out, preset=MINIMAL, seed=0, progress=events.append)
    # It resumed from step 8: no optimizer step before it was redone.
    assert min(e.step for e in events if e.phase == "train") == 9
    assert not resumed.cached
    assert [c.val_loss for c in resumed.checkpoints] == [c.val_loss for c in info.checkpoints]
    for step in EXPECTED_STEPS:
        assert _same_weights(_weights(info.out_dir, step), _weights(out, step)), step
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_a_different_run_in_the_folder_is_refused_unless_overwritten(run, tmp_path):
    out = tmp_path / "r"
    train_example(out, preset=MINIMAL, seed=0)
    with pytest.raises(ConfigError, match="another example run") as err:
        train_example(out, preset=MINIMAL, seed=5)
    assert "overwrite=True" in err.value.hint and "--overwrite" in error_lines(err.value)[1]
    replaced = train_example(out, preset=MINIMAL, seed=5, overwrite=True)
    assert replaced.seed == 5 and not replaced.cached
    assert json.loads((out / "run.json").read_text())["seed"] == 5


def test_foreign_step_folders_are_refused(tmp_path):
    (tmp_path / "step0").mkdir()
    with pytest.raises(ConfigError, match="no example run recorded"):
        train_example(tmp_path, preset=MINIMAL)


def test_custom_corpus_folder(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(6):
        (corpus / f"t{i}.md").write_text(f"Line {i}: the quick brown fox jumps over the lazy dog.\n" * 40)
    info = train_example(tmp_path / "out", preset=MINIMAL, corpus=corpus)
    assert info.corpus.kind == "folder" and info.corpus.root == str(corpus.resolve())
    assert info.checkpoints[-1].val_loss < info.checkpoints[0].val_loss


def test_errors_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown preset"):
        train_example(tmp_path / "x", preset="huge")
    with pytest.raises(ConfigError, match="does not exist"):
        train_example(tmp_path / "x", preset=MINIMAL, corpus=tmp_path / "nope")
    with pytest.raises(NotFoundError):
        load_run(tmp_path / "nothing")


def test_cli_train_example(run, tmp_path, monkeypatch):
    monkeypatch.setitem(presets.PRESETS, "minimal", MINIMAL)  # the command takes preset names
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # a second command, so Typer keeps the subcommand name
    out = tmp_path / "cli"
    result = CliRunner().invoke(app, ["train-example", str(out), "--preset", "minimal", "--seed", "0"])
    assert result.exit_code == 0, result.output
    assert "7 checkpoints" in result.output and "val loss" in result.output
    assert (out / "step20" / "metrics.json").is_file()
    again = CliRunner().invoke(app, ["train-example", str(out), "--preset", "minimal"])
    assert again.exit_code == 0 and "reused" in again.output
    bad = CliRunner().invoke(app, ["train-example", str(out), "--preset", "minimal", "--corpus", str(tmp_path / "nope")])
    assert isinstance(bad.exception, ConfigError)
