"""`neuromfa experiment reparam` on real checkpoints: the logits stay, the rows say how far each
metric moves; the relative band does not move on a family with separate q/k/v projections."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
import transformers as tf
from cli_helpers import run_cli
from model_builders import CONFIGS, FAMILY_CONFIGS, LLAMA, family_model, logits, save, tiny_model
from typer.testing import CliRunner

from neuromfa.cli.main import app
from neuromfa.experiments.rescale import rescale_attention

COLUMNS = ["factor", "mode", "band", "max_logit_diff", "alpha0_ref", "alpha0", "width_ref", "width"]


def run(path, *extra) -> pd.DataFrame:
    res = CliRunner().invoke(app, ["experiment", "reparam", str(path), "--samples", "2", "-k", "8",
                                   "--format", "json", *extra])
    assert res.exit_code == 0, res.output
    return pd.DataFrame(json.loads(res.stdout))


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    d = tmp_path_factory.mktemp("reparam")
    return {family: save(tiny_model(family, seed=8), d / family) for family in ("llama", "neox")}


def test_llama_relative_band_is_unmoved_and_absolute_moves(checkpoints):
    df = run(checkpoints["llama"], "--factors", "1/3,3")
    assert list(df.columns) == COLUMNS and len(df) == 2 * 2 * 2
    assert (df["max_logit_diff"] < 1e-4).all()
    rel, ab = df[df["band"] == "relative"], df[df["band"] == "absolute"]
    assert ((rel["alpha0"] - rel["alpha0_ref"]).abs() < 1e-12).all()
    assert ((rel["width"] - rel["width_ref"]).abs() < 1e-12).all()
    assert ((ab["alpha0"] - ab["alpha0_ref"]).abs() > 1e-3).all()


def test_neox_reference_topology_cannot_undo_the_per_head_rescaling(checkpoints):
    df = run(checkpoints["neox"], "--factors", "3")
    assert (df["max_logit_diff"] < 1e-4).all()
    rel = df[df["band"] == "relative"]
    # the [Q; K; V] row blocks of the reference reading mix the heads' q, k and v rows
    assert ((rel["alpha0"] - rel["alpha0_ref"]).abs() > 1e-3).any()


@pytest.mark.parametrize("factors", ["0", "abc", "1/0", "1e9", "", "2,2", "1/3,,2", "2/"])
def test_bad_factors_fail_in_one_line(checkpoints, factors, monkeypatch, capsys):
    code, _, err = run_cli(monkeypatch, capsys, dict(os.environ), "experiment", "reparam", str(checkpoints["llama"]),
                           "--factors", factors)
    assert code == 1 and "Traceback" not in err
    assert err.startswith("error: --factors") and len(err.splitlines()) == 2  # error + hint


@pytest.mark.parametrize("where", ["missing", "file"])
def test_a_path_that_is_no_checkpoint_folder_fails_in_one_line(tmp_path, where, monkeypatch, capsys):
    path = tmp_path / "nosuch"
    if where == "file":
        path.write_text("not a model")
    if where == "missing":  # as a real process
        out = subprocess.run([sys.executable, "-m", "neuromfa.cli", "experiment", "reparam", str(path), "--factors", "2"],
                             capture_output=True, text=True)
        code, err = out.returncode, out.stderr
    else:
        code, _, err = run_cli(monkeypatch, capsys, dict(os.environ), "experiment", "reparam", str(path), "--factors", "2")
    assert code == 1 and "Traceback" not in err
    assert f"error: {path} is not a checkpoint folder" in err


# every family ingest reads, with Qwen2/3 and Mistral on Llama's shape (Qwen3 norms its Q and K)
EXTRA = {"qwen3": lambda: tf.Qwen3Config(**LLAMA, head_dim=8), "qwen2": lambda: tf.Qwen2Config(**LLAMA),
         "mistral": lambda: tf.MistralConfig(**LLAMA)}


def build(family: str, seed: int = 3):
    if family in CONFIGS:
        return tiny_model(family, seed)
    if family in FAMILY_CONFIGS:
        return family_model(family, seed)
    torch.manual_seed(seed)
    return tf.AutoModelForCausalLM.from_config(EXTRA[family]()).eval()


@pytest.mark.parametrize("family", [*CONFIGS, *FAMILY_CONFIGS, *EXTRA])
def test_every_family_keeps_its_logits_and_changes_its_weights(family):
    reference = build(family)
    before, ref_logits = reference.state_dict(), logits(reference)
    for c in (1 / 3, 3.0):
        changed = rescale_attention(build(family), c)
        assert np.abs(logits(changed) - ref_logits).max() < 1e-4
        moved = [name for name, t in changed.state_dict().items() if not torch.equal(t, before[name])]
        assert moved and all(t.ndim <= 2 for name, t in changed.state_dict().items() if name in moved)
        assert not any("embed" in name or "wte" in name or "mlp" in name for name in moved), moved
