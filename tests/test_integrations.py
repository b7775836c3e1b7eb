"""neuromfa.integrations: the plain-PyTorch hook in train-example gives, at every checkpoint
step, the same alpha_0, width and E as ingest + analyze + emergence of the saved checkpoints
(same neurons, same weights); its database write stores the same numbers; the Trainer callback
example logs the values where a reporting callback sees them."""

from __future__ import annotations

import bisect
import csv
import difflib
import fractions
import heapq
import importlib.util
import json
import shutil
import statistics
import string
import textwrap
from pathlib import Path

import pytest
from jobs_helpers import settings_for
from transformers import TrainerCallback

from neuromfa import api
from neuromfa.base.errors import ConfigError
from neuromfa.ingest.memory import StateDictSource
from neuromfa.integrations import LiveMFA
from neuromfa.training.presets import Preset
from neuromfa.training.train_example import train_example

K = 8
EXAMPLE = Path(__file__).parents[1] / "examples" / "trainer_callback.py"
SPEC = Preset(name="live-test", blocks=2, hidden=16, heads=2, context=16, batch=4, steps=4, lr=3e-3, warmup=1,
              weight_decay=0.01, grad_clip=1.0, log_until=4, every=4, val_batches=1, train_bytes=60_000,
              val_bytes=6_000, threads=1)  # checkpoints at 0, 1, 2, 4


def test_hook_equals_ingest_and_analyze_of_the_checkpoints(store, graph_server, tmp_path):
    hook = LiveMFA(2, name="live-run", samples=2, k=K, min_mass=3)
    writer = LiveMFA(2, name="live-db", samples=2, k=K, min_mass=3, store=store)  # the same, into the database

    def both(step, model):
        hook(step, model)
        writer(step, model)

    corpus = tmp_path / "corpus"  # ten real text files: reading the whole standard library costs seconds
    corpus.mkdir()
    for module in (json, csv, shutil, textwrap, string, difflib, heapq, bisect, fractions, statistics):
        shutil.copy(module.__file__, corpus)
    run = train_example(tmp_path / "run", preset=SPEC, corpus=corpus, on_step=both)
    assert [m.step for m in hook.history] == [0, 2, 4] and hook.history[0].E == 0.0
    api.ingest(run.out_dir, name="live-run", samples=2, k=K, store=store)
    report = api.analyze("live-run", min_mass=3, settings=settings_for(graph_server, store))
    assert report.counts() == {"done": 8}
    table = api.emergence("live-run", store=store).set_index("step")
    for live in hook.history:  # equal, not close: the hook read the weights the checkpoint holds
        row = table.loc[live.step]
        assert (live.alpha0_mean, live.width_mean, live.alpha0_std, live.width_std) == (
            row.alpha0_mean, row.width_mean, row.alpha0_std, row.width_std)
        assert (live.E, live.E_mean, live.E_std) == (row.E, row.E_mean, row.E_std)
    assert hook.history[-1].E != 0.0
    stored = api.emergence("live-db", store=store)
    assert stored["step"].tolist() == [0, 2, 4]
    assert stored["alpha0_mean"].tolist() == [m.alpha0_mean for m in writer.history]
    assert stored["E"].tolist() == [m.E for m in writer.history] == [m.E for m in hook.history]
    assert stored["log_rms"].notna().all()  # the baselines, as ingest stores them
    with pytest.raises(ConfigError, match="already has graph"):  # a second run under the same name
        LiveMFA(2, name="live-db", samples=2, k=K, min_mass=3, store=store).evaluate(0, _model(run.checkpoint_dir(0)))


def _model(path):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(path)


def test_state_dict_source_reads_what_a_checkpoint_holds(tmp_path):
    from model_builders import save, tiny_model

    from neuromfa.ingest.readers import open_model

    model = tiny_model("neox")
    with open_model(save(model, tmp_path / "m")) as saved:
        live = StateDictSource.of_model(model)
        name = "gpt_neox.layers.1.attention.query_key_value.weight"
        assert live.shape(name) == saved.shape(name)
        assert (live.take(name, [5, 1, 5], [0, 7]) == saved.take(name, [5, 1, 5], [0, 7])).all()


def test_bad_hook_arguments_are_config_errors():
    with pytest.raises(ConfigError, match="every"):
        LiveMFA(0)
    with pytest.raises(ConfigError, match="null_samples"):
        LiveMFA(5, null_samples=3)
    with pytest.raises(ConfigError, match="model name"):
        LiveMFA(5, name="a/b")


def test_train_example_refuses_a_bad_live_every_naming_it(tmp_path):
    from typer.testing import CliRunner

    from neuromfa.cli.main import app

    res = CliRunner().invoke(app, ["train-example", str(tmp_path / "run"), "--live-every", "0"])
    assert isinstance(res.exception, ConfigError) and "live_every must be" in str(res.exception)
    assert "training" not in res.output and not (tmp_path / "run").exists()  # before the corpus and the bar


class Reporter(TrainerCallback):
    """Stands for TensorBoard / W&B: what the on_log events carried."""

    def __init__(self):
        self.seen: list[dict] = []

    def on_log(self, args, state, control, logs=None, **kwargs):
        self.seen.append(dict(logs or {}))


def test_trainer_callback_example(tmp_path):
    spec = importlib.util.spec_from_file_location("trainer_callback", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    reporter = Reporter()
    trainer = example.train(tmp_path, steps=4, every=2, callbacks=[reporter])
    live = [row for row in trainer.state.log_history if "neuromfa/alpha0" in row]
    assert [row["step"] for row in live] == [0, 2, 4] and live[0]["neuromfa/E"] == 0.0
    seen = [row for row in reporter.seen if "neuromfa/alpha0" in row]
    assert len(seen) == 2 and all("loss" in row for row in seen)  # steps 2 and 4, beside the loss
