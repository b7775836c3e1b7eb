"""Ingest of rare-but-real checkpoints on the real server: a failed ingest leaves nothing
behind, exact-zero weights are counted (no edge), a config that contradicts the tensor shapes
gets a warning. Checkpoints are tiny GPT-NeoX models built offline (fixed seeds) and edited
with safetensors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import transformers as tf
from safetensors.numpy import load_file, save_file

from neuromfa.base.errors import ModelError
from neuromfa.ingest.adapters import adapter_for
from neuromfa.ingest.build import snin_for_checkpoint
from neuromfa.ingest.pipeline import ingest_path
from neuromfa.ingest.readers import open_model
from neuromfa.ingest.sampler import draws_for_sample
from neuromfa.schema.records import graph_id

DOWN0 = "gpt_neox.layers.0.mlp.dense_4h_to_h.weight"
DOWN1 = "gpt_neox.layers.1.mlp.dense_4h_to_h.weight"

COUNTS = """
MATCH (n) WITH count(n) AS nodes
OPTIONAL MATCH ()-[r]->() RETURN nodes, count(r) AS rels
"""


def tiny_neox(path: Path, hidden: int = 32, seed: int = 0) -> Path:
    """A 2-block GPT-NeoX with random weights, saved as safetensors."""
    torch.manual_seed(seed)
    config = tf.GPTNeoXConfig(hidden_size=hidden, num_hidden_layers=2, num_attention_heads=4,
                              intermediate_size=4 * hidden, vocab_size=64, max_position_embeddings=32)
    tf.GPTNeoXForCausalLM(config).save_pretrained(path)
    return path


def edit_tensor(path: Path, name: str, edit) -> None:
    """Rewrite one tensor of ``path``/model.safetensors in place: ``edit(array)`` modifies it."""
    file = path / "model.safetensors"
    tensors = load_file(str(file))
    edit(tensors[name])
    save_file(tensors, str(file), metadata={"format": "pt"})


def counts(store) -> tuple[int, int]:
    row = store.read(COUNTS)[0]
    return row["nodes"], row["rels"]


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_failed_ingest_leaves_nothing_and_does_not_block_the_name(store, tmp_path, bad):
    broken = tiny_neox(tmp_path / "broken", hidden=32)

    def poison(m):
        m[:] = bad  # every sample reads this tensor: block 1's down projection

    edit_tensor(broken, DOWN1, poison)
    with pytest.raises(ModelError, match="NaN or inf"):
        ingest_path(store, broken, name="fx", samples=2, k=8)
    # not even a Model node: block 0 built fine before block 1 failed, nothing was written
    assert counts(store) == (0, 0)
    # the name is free: another shape and another k ingest fine
    good = tiny_neox(tmp_path / "good", hidden=48, seed=1)
    report = ingest_path(store, good, name="fx", samples=2, k=12)
    assert report.graphs_written == 2
    row = store.read("MATCH (m:Model {name: 'fx'}) RETURN m.hidden AS hidden")
    assert row == [{"hidden": 48}]
    assert store.read("MATCH (g:Graph) RETURN collect(DISTINCT g.k) AS ks")[0]["ks"] == [12]


def test_failure_in_a_later_checkpoint_keeps_only_whole_graphs(store, tmp_path):
    run = tmp_path / "run"
    tiny_neox(run / "step0", seed=0)
    tiny_neox(run / "step10", seed=1)
    edit_tensor(run / "step10", DOWN0, lambda m: m.fill(float("nan")))
    with pytest.raises(ModelError, match="NaN or inf"):
        ingest_path(store, run, name="fx", samples=1, k=8)
    # step 0 is stored whole (its graph, checkpoint and Model); step 10 left nothing
    assert store.read("MATCH (c:Checkpoint) RETURN collect(c.step) AS steps")[0]["steps"] == [0]
    assert store.read("MATCH (g:Graph) RETURN collect(g.gid) AS gids")[0]["gids"] == [graph_id("fx", 0, 0, 8)]
    assert store.read("MATCH (m:Model) RETURN count(m) AS n")[0]["n"] == 1


def _zero_three_sampled_weights(path: Path, k: int) -> None:
    """Block 0's down projection: three sampled (mlp_hidden -> next input) weights set to 0."""
    with open_model(path) as source:
        facts = adapter_for(source).facts
    draws = draws_for_sample(facts.sizes, facts.blocks, sample=0, k=k)
    row, cols = draws.mlp_out(0)[0], draws.mlp_hidden[0][:3]
    edit_tensor(path, DOWN0, lambda m: m.__setitem__((row, cols), 0.0))


def test_zero_weights_are_counted_and_stored_graph_unchanged(store, tmp_path):
    model = tiny_neox(tmp_path / "m")
    before = snin_for_checkpoint(model, sample=0, k=8)
    _zero_three_sampled_weights(model, k=8)
    after = snin_for_checkpoint(model, sample=0, k=8)
    assert after.meta["zero_weights"] == 3 and before.meta["zero_weights"] == 0
    assert after.n_edges == before.n_edges - 3 and np.all(after.w != 0)

    report = ingest_path(store, model, name="fx", samples=1, k=8)
    assert report.zero_weights == 3 and report.edges_written == after.n_edges
    gid = graph_id("fx", 0, 0, 8)
    stored = store.read("MATCH (:Neuron {graph: $gid})-[s:SYNAPSE]->() "
                        "RETURN count(s) AS n, min(abs(s.w)) AS smallest", gid=gid)[0]
    assert stored["n"] == after.n_edges and stored["smallest"] > 0
    # an already stored graph reports no zeros of its own: nothing was written
    assert ingest_path(store, model, name="fx", samples=1, k=8).zero_weights == 0


def test_config_hidden_size_disagreeing_with_the_shapes_warns(tmp_path):
    model = tiny_neox(tmp_path / "m", hidden=32)
    config = json.loads((model / "config.json").read_text())
    (model / "config.json").write_text(json.dumps({**config, "hidden_size": 40}))
    with open_model(model) as source:
        adapter = adapter_for(source)
    assert adapter.facts.hidden == 32  # the shapes win
    assert adapter.warnings == ["the config says hidden_size = 40 but the weight tensors have hidden "
                                "size 32; the tensor shapes are used"]
    with open_model(tiny_neox(tmp_path / "ok", hidden=32)) as source:
        assert adapter_for(source).warnings == []


def test_cli_prints_the_warning_and_the_zero_count_one_line_each(store, db_env, tmp_path):
    model = tiny_neox(tmp_path / "m", hidden=32)
    _zero_three_sampled_weights(model, k=8)
    config = json.loads((model / "config.json").read_text())
    (model / "config.json").write_text(json.dumps({**config, "hidden_size": 40}))
    done = subprocess.run([sys.executable, "-m", "neuromfa.cli", "ingest", str(model), "--name", "fx",
                           "--samples", "1", "-k", "8"], env=db_env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.strip().splitlines()
    warnings = [line for line in lines if line.startswith("warning:")]
    assert warnings == [f"warning: {model}: the config says hidden_size = 40 but the weight tensors have "
                        "hidden size 32; the tensor shapes are used"]
    assert lines[-1].startswith("fx: 1 checkpoint(s), 1 graph(s) written")
    assert lines[-1].endswith("; 3 zero weights skipped (no edge)")
