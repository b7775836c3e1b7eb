"""`neuromfa experiment decay`: runs that differ in weight decay differ in weight scale; they
train in parallel processes as they would one by one; the command stores one model per run
and prints its tables."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import load_file
from training_presets import MINIMAL
from typer.testing import CliRunner

from neuromfa.base.errors import ConfigError
from neuromfa.cli.main import app, main
from neuromfa.experiments.decay import _train_all
from neuromfa.training.presets import PRESETS
from neuromfa.training.train_example import train_example, with_weight_decay

SHORT = MINIMAL.model_copy(update={"name": "minimal-short", "steps": 8, "train_bytes": 60_000, "val_bytes": 20_000})


def block_rms(checkpoint) -> float:
    """RMS over every matrix of the transformer blocks."""
    tensors = load_file(str(checkpoint / "model.safetensors"))
    values = np.concatenate([t.ravel() for name, t in tensors.items() if ".layers." in name and t.ndim == 2])
    return float(np.sqrt(np.mean(values.astype(np.float64) ** 2)))


def test_the_override_leaves_the_presets_and_their_keys_alone():
    tiny = PRESETS["tiny"]
    assert with_weight_decay(tiny, None) is tiny
    same = with_weight_decay(tiny, tiny.weight_decay)
    assert same.model_dump() == tiny.model_dump()  # the same run, the same cache key
    assert with_weight_decay(tiny, 1.0).weight_decay == 1.0 and tiny.weight_decay == 0.01
    for bad in (-0.1, float("nan"), 1e6, True):
        with pytest.raises(ConfigError, match="weight_decay must be a number from 0 to 100"):
            with_weight_decay(tiny, bad)


def test_runs_with_more_weight_decay_end_with_smaller_weights(tmp_path):
    plain = train_example(tmp_path / "wd0", preset=SHORT, weight_decay=0.0)
    decayed = train_example(tmp_path / "wd20", preset=SHORT, weight_decay=20.0)
    assert plain.key != decayed.key and decayed.config["preset"]["weight_decay"] == 20.0
    start, a, b = (block_rms(r.checkpoint_dir(s)) for r, s in ((plain, 0), (plain, 8), (decayed, 8)))
    assert block_rms(decayed.checkpoint_dir(0)) == start  # the same initialisation
    assert b < 0.8 * a, (start, a, b)


def test_runs_train_in_parallel_processes_as_they_would_one_by_one(tmp_path):
    runs = _train_all(tmp_path, SHORT, [(0.0, 0), (20.0, 1)], workers=2, on_run=None)
    assert [(r.weight_decay, r.seed, r.out_dir.name) for r in runs] == [(0.0, 0, "minimal-short-wd0-seed0"),
                                                                         (20.0, 1, "minimal-short-wd20-seed1")]
    alone = train_example(tmp_path / "alone", preset=SHORT, seed=1, weight_decay=20.0)
    assert load_file(str(alone.checkpoint_dir(8) / "model.safetensors")).keys() == load_file(
        str(runs[1].out_dir / "step8" / "model.safetensors")).keys()
    assert block_rms(alone.checkpoint_dir(8)) == block_rms(runs[1].out_dir / "step8")  # deterministic in any process


def test_the_command_stores_a_model_per_run_and_prints_every_table(store, db_env, tmp_path, monkeypatch):
    monkeypatch.setitem(PRESETS, SHORT.name, SHORT)
    args = ["experiment", "decay", "--preset", SHORT.name, "--out-dir", str(tmp_path / "out"), "--decays", "0,1,20",
            "--seeds", "0", "--step", "0", "--step", "8", "--samples", "1", "-k", "8", "--workers", "1"]
    res = CliRunner(env=db_env).invoke(app, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    for name in ("paths (layered mode, absolute band)", "one-hop (one-hop mode, absolute band)",
                 "the last step of every run", "every quantity against validation loss"):
        assert name in res.stdout
    report = json.loads(CliRunner(env=db_env).invoke(app, [*args, "--format", "json"], catch_exceptions=False).stdout)
    assert [(r["weight_decay"], r["seed"]) for r in report["runs"]] == [(0.0, 0), (1.0, 0), (20.0, 0)]
    assert all(r["cached"] for r in report["runs"])  # the second call reuses every run
    assert len({r["model"] for r in report["runs"]}) == 3 and report["steps"] == [0, 8]
    final = [r for r in report["final"] if r["analysis"] == "paths"]
    assert [r["step"] for r in final] == [8, 8, 8]
    if "log_rms" in final[0]:  # the baselines, where ingest stores them
        assert final[2]["log_rms"] < final[0]["log_rms"]
    across = [r for r in report["validity"]["rows"] if r["across_runs"] is not None]
    assert across and all(r["across_runs_steps"] == 1 for r in across)  # step 8 (step 0: one initialisation)


@pytest.mark.parametrize(("args", "first"), [
    (["--decays", "0,x"], "error: --decays '0,x' is not a comma-separated list"),
    (["--decays", "0,-1"], "error: --decays: weight decay -1.0 is not a number from 0 to 100"),
    (["--decays", "0,0"], "error: --decays and --seeds: give each value once"),
    (["--seeds", "0,1.5"], "error: --seeds '0,1.5' is not a comma-separated list"),
    (["--step", "3"], "error: --step 3: not all are checkpoints of the tiny preset"),
])
def test_bad_options_fail_in_one_line_before_anything_runs(args, first, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr("sys.argv", ["neuromfa", "experiment", "decay", "--out-dir", str(tmp_path), *args])
    with pytest.raises(SystemExit) as exc:
        main()
    err = capsys.readouterr().err
    assert exc.value.code == 1 and "Traceback" not in err
    assert err.splitlines()[0] == first and len(err.splitlines()) <= 2
    assert not any(tmp_path.iterdir())
