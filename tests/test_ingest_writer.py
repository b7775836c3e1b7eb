"""Ingest into the real local graph server: counts, idempotency, atomicity."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from neuromfa.base.errors import ConfigError
from neuromfa.ingest.build import snin_for_checkpoint
from neuromfa.ingest.pipeline import ingest_path
from neuromfa.schema.records import graph_id
from neuromfa.store.graphs import GraphRepository

FIXTURE = Path(__file__).parent / "fixtures" / "neox-h64-l2"
EXPECTED = json.loads((FIXTURE / "expected_one_hop.json").read_text())

COUNTS = """
MATCH (n) WITH count(n) AS nodes
OPTIONAL MATCH ()-[r]->() RETURN nodes, count(r) AS rels
"""


def counts(store) -> tuple[int, int]:
    row = store.read(COUNTS)[0]
    return row["nodes"], row["rels"]


def test_fixture_ingest_matches_reference_counts_and_draws(store):
    report = ingest_path(store, FIXTURE, name="fx", samples=3, k=32)
    assert report.graphs_written == 3 and report.graphs_present == 0
    for expected in EXPECTED["samples"]:
        gid = graph_id("fx", 0, expected["sample"], 32)
        n = store.read("MATCH (a:Neuron {graph: $gid})-[s:SYNAPSE]->() RETURN count(s) AS n", gid=gid)[0]["n"]
        assert n == expected["edges_sampled"]
        stored = store.read(
            "MATCH (n:Neuron {graph: $gid, block: 0}) RETURN n.kind AS kind, collect(n.index) AS idx", gid=gid)
        by_kind = {r["kind"]: sorted(r["idx"]) for r in stored}
        ref = expected["sampled_indices"]
        assert by_kind["input"] == sorted(ref["block0_input"])
        assert by_kind["context"] == sorted(ref["block0_qkv_t"])
        h = 64
        assert by_kind["qkv"] == sorted(t + o for t in ref["block0_qkv_t"] for o in (0, h, 2 * h))
        assert by_kind["attn_out"] == sorted(ref["block0_attn_out"])
        assert by_kind["mlp_hidden"] == sorted(ref["block0_mlp_hidden"])


def test_pulled_graph_equals_built_graph(store):
    ingest_path(store, FIXTURE, name="fx", samples=[1], k=32)
    pulled = GraphRepository(store).pull(graph_id("fx", 0, 1, 32))
    built = snin_for_checkpoint(FIXTURE, sample=1, k=32)
    key_pulled = sorted(zip(pulled.layer[pulled.src], pulled.index[pulled.src],
                            pulled.layer[pulled.dst], pulled.index[pulled.dst], pulled.w))
    key_built = sorted(zip(built.layer[built.src], built.index[built.src],
                           built.layer[built.dst], built.index[built.dst], built.w))
    assert key_pulled == key_built
    assert pulled.structural.sum() == built.structural.sum() > 0


def test_ingest_twice_leaves_database_unchanged(store):
    ingest_path(store, FIXTURE, name="fx", samples=2, k=16)
    before = counts(store)
    created = store.read("MATCH (g:Graph) RETURN g.gid AS gid, g.created AS created ORDER BY gid")
    report = ingest_path(store, FIXTURE, name="fx", samples=2, k=16)
    assert report.graphs_written == 0 and report.graphs_present == 2
    assert counts(store) == before
    assert store.read("MATCH (g:Graph) RETURN g.gid AS gid, g.created AS created ORDER BY gid") == created
    assert store.read("MATCH (m:Model) RETURN count(m) AS n")[0]["n"] == 1
    assert store.read("MATCH (c:Checkpoint) RETURN count(c) AS n")[0]["n"] == 1


def test_failure_midway_rolls_back_the_whole_graph(store, monkeypatch):
    import neuromfa.store.graphs as graphs

    monkeypatch.setattr(graphs, "EDGE_BATCH", 1000)
    calls = []

    def boom(n):
        calls.append(n)
        if len(calls) == 3:
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        ingest_path(store, FIXTURE, name="fx", samples=[0], k=32, on_edges=boom)
    assert store.read("MATCH (g:Graph) RETURN count(g) AS n")[0]["n"] == 0
    assert store.read("MATCH (n:Neuron) RETURN count(n) AS n")[0]["n"] == 0
    assert store.read("MATCH ()-[s:SYNAPSE]->() RETURN count(s) AS n")[0]["n"] == 0
    # and a retry completes it
    assert ingest_path(store, FIXTURE, name="fx", samples=[0], k=32).graphs_written == 1


KILLED_INGEST = textwrap.dedent("""
    import sys, time
    import neuromfa.store.graphs as graphs
    from neuromfa.ingest.pipeline import ingest_path
    from neuromfa.store.connection import open_store
    graphs.EDGE_BATCH = 2000
    def slow(n):
        print("BATCH", flush=True)
        time.sleep(60)
    with open_store(autostart=False) as store:
        ingest_path(store, sys.argv[1], name="fx", samples=[0], k=32, on_edges=slow)
""")


def test_killed_ingest_leaves_no_partial_graph(store, db_env):
    proc = subprocess.Popen([sys.executable, "-c", KILLED_INGEST, str(FIXTURE)], env=db_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "BATCH", proc.stderr.read()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    # the server rolls back the open transaction when the connection drops
    assert store.read("MATCH (g:Graph) RETURN count(g) AS n")[0]["n"] == 0
    assert store.read("MATCH (n:Neuron) RETURN count(n) AS n")[0]["n"] == 0
    assert ingest_path(store, FIXTURE, name="fx", samples=[0], k=32).graphs_written == 1


def test_same_name_for_another_shape_is_refused(store, tmp_path):
    ingest_path(store, FIXTURE, name="fx", samples=[0], k=8)
    other = tmp_path / "other"
    other.mkdir()
    config = json.loads((FIXTURE / "config.json").read_text())
    import torch
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

    torch.manual_seed(0)
    config.update(num_hidden_layers=1)
    GPTNeoXForCausalLM(GPTNeoXConfig(**{k: v for k, v in config.items() if k not in ("architectures",)})).save_pretrained(other)
    with pytest.raises(ConfigError, match="already used"):
        ingest_path(store, other, name="fx", samples=[0], k=8)


def test_bad_parameters_are_clear_errors(store):
    with pytest.raises(ConfigError, match="invalid model name"):
        ingest_path(store, FIXTURE, name="a/b", samples=1)
    with pytest.raises(ConfigError, match="samples"):
        ingest_path(store, FIXTURE, name="fx", samples=[])


def test_python_api_ingest_and_graphs(store):
    from neuromfa import api

    report = api.ingest(FIXTURE, name="fx", samples=2, k=8, store=store)
    assert report.graphs_written == 2
    df = api.graphs("fx", store=store)
    assert df["gid"].tolist() == [graph_id("fx", 0, s, 8) for s in (0, 1)]
    for gid, edges in zip(df["gid"], df["edges"]):
        stored = store.read("MATCH (:Neuron {graph: $gid})-[s:SYNAPSE]->() RETURN count(s) AS n", gid=gid)[0]["n"]
        assert edges == stored > 0
    assert api.graphs("other", store=store).empty


def test_one_k_and_one_seed_base_per_model(store):
    ingest_path(store, FIXTURE, name="fx", samples=1, k=8)
    with pytest.raises(ConfigError, match=r"stored with k 8, not 16 \(ingest with k=8") as k_err:
        ingest_path(store, FIXTURE, name="fx", samples=1, k=16)
    assert k_err.value.param == "k"
    with pytest.raises(ConfigError, match="stored with seed_base 0, not 7") as seed_err:
        ingest_path(store, FIXTURE, name="fx", samples=1, k=8, seed_base=7)
    assert seed_err.value.param == "seed_base"
    assert store.read("MATCH (g:Graph) RETURN count(g) AS n")[0]["n"] == 1


def test_k_too_large_writes_nothing(store):
    with pytest.raises(ConfigError, match="k = 100"):
        ingest_path(store, FIXTURE, name="fx", samples=1, k=100)
    assert counts(store) == (0, 0)
