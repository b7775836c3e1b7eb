"""`neuromfa experiment degrade`: a run continued on corrupted bytes gets worse on the real
corpus; the command stores the whole history as one model, analyses it and prints its tables."""

from __future__ import annotations

import json

import numpy as np
import pytest
from training_presets import MINIMAL
from typer.testing import CliRunner

from neuromfa.base.errors import ConfigError
from neuromfa.cli.main import app, main
from neuromfa.results.tables import checkpoint_metrics
from neuromfa.training.continue_run import ContinueSpec, continue_steps, continue_training, corrupt
from neuromfa.training.train_example import train_example

# a base run of 8 steps (checkpoints 0, 1, 2, 4, 8): seconds to train
SHORT = MINIMAL.model_copy(update={"name": "minimal-short", "steps": 8, "train_bytes": 60_000, "val_bytes": 20_000})
FAST = dict(steps=8, lr=3e-3, warmup=2, first=2)  # random bytes at the base run's peak rate


@pytest.fixture(scope="module")
def base_run(tmp_path_factory):
    return train_example(tmp_path_factory.mktemp("degrade") / "base", preset=SHORT)


def test_corruptions_keep_or_drop_the_bytes():
    stream = np.arange(1000, dtype=np.uint16) % 257
    shuffled = corrupt(stream, "shuffle", seed=1)
    assert np.array_equal(np.sort(shuffled), np.sort(stream)) and not np.array_equal(shuffled, stream)
    noise = corrupt(stream, "random", seed=1)
    assert noise.dtype == np.uint16 and len(noise) == len(stream) and noise.max() < 256
    assert np.array_equal(noise, corrupt(stream, "random", seed=1))
    assert not np.array_equal(noise, corrupt(stream, "random", seed=2))
    with pytest.raises(ConfigError, match="unknown corruption"):
        corrupt(stream, "reverse", seed=1)  # type: ignore[arg-type]


def test_checkpoints_are_log_spaced_after_the_base():
    assert continue_steps(ContinueSpec(steps=256, first=4)) == [0, 4, 8, 16, 32, 64, 128, 256]
    assert continue_steps(ContinueSpec(steps=10, first=4)) == [0, 4, 8, 10]


def test_validation_loss_on_the_real_corpus_rises_on_random_bytes(base_run, tmp_path):
    run = continue_training(base_run.out_dir, tmp_path / "random", ContinueSpec(corruption="random", **FAST))
    assert run.steps == [8, 10, 12, 16] and not run.cached
    losses = [c.val_loss for c in run.checkpoints]
    # the first checkpoint is the base's last one again, measured on the same validation windows
    assert losses[0] == pytest.approx(base_run.checkpoints[-1].val_loss, abs=1e-6)
    assert losses[-1] > losses[0] + 0.3, losses
    again = continue_training(base_run.out_dir, tmp_path / "random", ContinueSpec(corruption="random", **FAST))
    assert again.cached and again.key == run.key and [c.val_loss for c in again.checkpoints] == losses
    slower = continue_training(base_run.out_dir, tmp_path / "random", ContinueSpec(corruption="random", **{**FAST, "lr": 1e-4}))
    assert not slower.cached and slower.key != run.key
    assert slower.checkpoints[-1].val_loss < losses[-1]  # a tenth of the rate does less harm


def test_a_continued_run_is_not_written_into_its_base(base_run):
    with pytest.raises(ConfigError, match="cannot be written into its base run"):
        continue_training(base_run.out_dir, base_run.out_dir, ContinueSpec(**FAST))


def test_the_command_stores_one_history_and_prints_every_table(store, db_env, base_run, tmp_path):
    args = ["experiment", "degrade", "--base", str(base_run.out_dir), "--out-dir", str(tmp_path / "out"),
            "--corrupt-steps", "4", "--lr", "3e-3", "--samples", "1", "-k", "8", "--workers", "1"]
    res = CliRunner(env=db_env).invoke(app, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    for name in ("paths (layered mode, absolute band)", "paths, relative band (layered mode, relative band)",
                 "one-hop (one-hop mode, absolute band)", "every quantity against validation loss"):
        assert name in res.stdout
    report = json.loads(CliRunner(env=db_env).invoke(app, [*args, "--format", "json"], catch_exceptions=False).stdout)
    assert report["steps"] == [0, 1, 2, 4, 8, 12]  # checkpoints 4 steps apart from the base
    assert report["seconds"]["train corrupted"] < 5  # the second call reuses the run and the analyses
    metrics = checkpoint_metrics(store, report["model"]).set_index("step")["val_loss"]
    assert metrics.index.tolist() == report["steps"]
    assert metrics[12] > metrics[8]  # quality falls after the base's last step
    for table in report["tables"]:
        assert [r["step"] for r in table["rows"]] == report["steps"]
        assert all(r["E"] is not None and r["E_null"] is not None for r in table["rows"])
    labels = {r["label"] for r in report["validity"]["rows"]}
    assert {"log_rms", "log_norm"} <= labels and any(label.startswith("E_struct") for label in labels)


@pytest.mark.parametrize(("args", "first"), [
    (["--corruption", "reverse"], "error: --corruption 'reverse' is not one of random, shuffle"),
    (["--corrupt-steps", "0"], "error: --corrupt-steps must be an integer from 1 to 100000, got 0"),
    (["--lr", "0"], "error: --lr must be a learning rate in (0, 1], got 0.0"),
])
def test_bad_options_fail_in_one_line_before_anything_runs(args, first, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr("sys.argv", ["neuromfa", "experiment", "degrade", "--out-dir", str(tmp_path), *args])
    with pytest.raises(SystemExit) as exc:
        main()
    err = capsys.readouterr().err
    assert exc.value.code == 1 and "Traceback" not in err
    assert err.splitlines()[0] == first and len(err.splitlines()) <= 2
    assert not any(tmp_path.iterdir())
