"""Unit tests of the repositories against the recording store: the statements each method runs
(by name, with which parameters, in which transaction) and the records it builds from the rows
it gets back. No server."""

from __future__ import annotations

import json

import numpy as np
import pytest
from recording_store import Call, RecordingStore

from neuromfa.base.errors import AnalysisError, ConfigError, DatabaseError, NotFoundError
from neuromfa.schema.records import AnalysisRecord, CheckpointRecord, GraphRecord, MeasuredRow, ModelRecord
from neuromfa.schema.snin import SNIN
from neuromfa.store import analyses, graphs
from neuromfa.store.analyses import AnalysisRepository, JobLost, NfdRow, ResultRow, SpectrumRow
from neuromfa.store.graphs import GraphRepository, GraphSummary, StoredSteps
from neuromfa.store.models import ModelRepository, ModelSampling, StepMetrics

MODEL = ModelRecord(name="m", arch="gpt_neox", hidden=64, blocks=2, params=1000, source="/src")
CHECKPOINT = CheckpointRecord(model="m", step=4, metrics='{"val_loss": 2.5}', source="/src/step4")
GRAPH_ROW = {"gid": "m@4/s0/k2/reference", "model": "m", "step": 4, "sample": 0, "seed": 0, "k": 2,
             "topology": "reference", "nodes": 3, "edges": 3, "created": "2025-01-01T00:00:00+00:00"}


def tiny_snin(gid: str = GRAPH_ROW["gid"]) -> SNIN:
    """3 nodes (input 0 -> qkv 1 and 2 of block 0; 1 -> 2), 3 edges."""
    return SNIN.from_columns(layer=[0, 1, 1], kind=np.asarray(["input", "qkv", "qkv"], dtype=object),
                             block=[0, 0, 0], index=[5, 7, 9], src=[0, 0, 1], dst=[1, 2, 2],
                             w=[0.5, -0.25, 2.0], gid=gid, part=np.asarray(["", "q", "k"], dtype=object))


def graph_record(**update: object) -> GraphRecord:
    return GraphRecord(**{**GRAPH_ROW, **update})


# -- models ----------------------------------------------------------------------------------

def test_model_get_builds_the_record_and_none_when_absent():
    rec = RecordingStore().queue("get_model", [MODEL.model_dump()], [])
    repo = ModelRepository(rec)
    assert repo.get("m") == MODEL
    assert repo.get("other") is None
    assert rec.calls == [Call("get_model", {"name": "m"}), Call("get_model", {"name": "other"})]


def test_model_check_shape_reads_only_and_refuses_another_shape():
    rec = RecordingStore().queue("get_model", [], [{**MODEL.model_dump(), "hidden": 128}])
    repo = ModelRepository(rec)
    repo.check_shape(MODEL)  # nothing stored: fine
    with pytest.raises(ConfigError, match="already used by a gpt_neox model \\(hidden 128"):
        repo.check_shape(MODEL)
    assert rec.names() == ["get_model", "get_model"] and not rec.committed


def test_model_ensure_merges_in_one_transaction():
    rec = RecordingStore().queue("merge_model", [{"arch": "gpt_neox", "hidden": 64, "blocks": 2}],
                                 [{"arch": "llama", "hidden": 64, "blocks": 2}])
    repo = ModelRepository(rec)
    repo.ensure(MODEL)
    assert rec.calls == [Call("merge_model", MODEL.model_dump(), 1)] and rec.committed == [1]
    with pytest.raises(ConfigError, match="llama"):
        repo.ensure(MODEL)
    assert rec.rolled_back == [2]


def test_merge_checkpoint():
    rec = RecordingStore()
    ModelRepository(rec).merge_checkpoint(CHECKPOINT)
    assert rec.calls == [Call("merge_checkpoint", CHECKPOINT.model_dump(), 1)] and rec.committed == [1]


def test_model_sampling():
    rec = RecordingStore().queue("model_sampling", [{"ks": [32], "seed_bases": [0, 7]}])
    assert ModelRepository(rec).sampling("m") == ModelSampling(ks=[32], seed_bases=[0, 7])
    assert rec.calls == [Call("model_sampling", {"model": "m"})]


def test_checkpoint_metrics_keep_the_numbers_only():
    rec = RecordingStore().queue("checkpoint_metrics", [
        {"step": 0, "metrics": json.dumps({"val_loss": 5.5, "lr": 1, "ok": True, "note": "x"})},
        {"step": 1, "metrics": None},
        {"step": 2, "metrics": "not json"},
        {"step": 3, "metrics": "[1, 2]"},
    ])
    assert ModelRepository(rec).checkpoint_metrics("m") == [
        StepMetrics(step=0, metrics={"val_loss": 5.5, "lr": 1.0}), StepMetrics(step=1, metrics={}),
        StepMetrics(step=2, metrics={}), StepMetrics(step=3, metrics={})]
    assert rec.calls == [Call("checkpoint_metrics", {"model": "m"})]


def test_set_metrics_sends_named_rows_by_step():
    rec = RecordingStore().queue("checkpoint_set_metrics", [{"steps": [2, 8]}])
    steps = ModelRepository(rec).set_metrics("m", {8: {"b": 2.0, "a": 1.0}, 2: {"val_loss": 3.0}})
    assert steps == [2, 8]
    assert rec.calls == [Call("checkpoint_set_metrics", {"model": "m", "rows": [
        {"step": 2, "metrics": '{"val_loss": 3.0}'}, {"step": 8, "metrics": '{"a": 1.0, "b": 2.0}'}]})]


# -- graphs ----------------------------------------------------------------------------------

def test_graph_exists():
    rec = RecordingStore().queue("graph_exists", [{"gid": "g", "edges": 3}], [])
    repo = GraphRepository(rec)
    assert repo.exists("g") is True and repo.exists("h") is False
    assert rec.calls == [Call("graph_exists", {"gid": "g"}), Call("graph_exists", {"gid": "h"})]


def test_graph_get_and_not_found():
    rec = RecordingStore().queue("get_graph", [GRAPH_ROW], [])
    repo = GraphRepository(rec)
    assert repo.get("g") == graph_record()
    with pytest.raises(NotFoundError, match="no graph with gid 'h'"):
        repo.get("h")
    assert rec.calls == [Call("get_graph", {"gid": "g"}), Call("get_graph", {"gid": "h"})]


def _queue_write(rec: RecordingStore, ids: list[str]) -> None:
    rec.queue("graph_exists", [])
    rec.queue("merge_model", [{"arch": "gpt_neox", "hidden": 64, "blocks": 2}])
    rec.queue("create_graph", [{"gid": GRAPH_ROW["gid"]}])
    rec.queue("create_neurons", [{"ids": ids}])


def test_graph_write_is_one_transaction_with_named_neurons_and_synapse_columns(monkeypatch):
    monkeypatch.setattr(graphs, "EDGE_BATCH", 2)
    rec = RecordingStore()
    _queue_write(rec, ["e0", "e1", "e2"])
    seen: list[int] = []
    graph = graph_record()
    assert GraphRepository(rec).write(CHECKPOINT, graph, tiny_snin(), model=MODEL, on_edges=seen.append)
    gid = graph.gid
    assert rec.calls == [
        Call("graph_exists", {"gid": gid}),
        Call("merge_model", MODEL.model_dump(), 1),
        Call("merge_checkpoint", CHECKPOINT.model_dump(), 1),
        Call("create_graph", graph.model_dump(), 1),
        Call("create_neurons", {"gid": gid, "rows": [
            {"uid": f"{gid}/0/5", "layer": 0, "kind": "input", "block": 0, "index": 5, "part": None},
            {"uid": f"{gid}/1/7", "layer": 1, "kind": "qkv", "block": 0, "index": 7, "part": "q"},
            {"uid": f"{gid}/1/9", "layer": 1, "kind": "qkv", "block": 0, "index": 9, "part": "k"}]}, 1),
        Call("create_synapses", {"src": ["e0", "e0"], "dst": ["e1", "e2"], "w": [0.5, -0.25], "d": [2.0, 4.0]}, 1),
        Call("create_synapses", {"src": ["e1"], "dst": ["e2"], "w": [2.0], "d": [0.5]}, 1),
    ]
    assert seen == [2, 1] and rec.committed == [1]


def test_graph_write_without_model_and_already_stored():
    rec = RecordingStore().queue("graph_exists", [{"gid": "g", "edges": 3}])
    assert GraphRepository(rec).write(CHECKPOINT, graph_record(), tiny_snin()) is False
    assert rec.names() == ["graph_exists"]

    rec = RecordingStore()
    _queue_write(rec, ["e0", "e1", "e2"])
    assert GraphRepository(rec).write(CHECKPOINT, graph_record(), tiny_snin())
    assert "merge_model" not in rec.names() and rec.names()[1] == "merge_checkpoint"


def test_graph_write_refuses_bad_weights_before_any_statement():
    rec = RecordingStore()
    bad = tiny_snin()
    bad.w[1] = np.nan
    with pytest.raises(ConfigError, match="NaN, inf or zero"):
        GraphRepository(rec).write(CHECKPOINT, graph_record(), bad)
    assert rec.calls == []


def _interrupted(n: int) -> None:
    raise RuntimeError("connection dropped")


def test_graph_write_lost_race_reports_already_stored_and_rolls_back():
    rec = RecordingStore()
    _queue_write(rec, ["e0", "e1", "e2"])
    rec.queue("graph_exists", [{"gid": "g", "edges": 3}])  # a concurrent writer stored it meanwhile
    assert GraphRepository(rec).write(CHECKPOINT, graph_record(), tiny_snin(), on_edges=_interrupted) is False
    assert rec.rolled_back == [1] and not rec.committed and rec.names()[-1] == "graph_exists"


def test_graph_write_failure_is_raised_when_nothing_was_stored():
    rec = RecordingStore()
    _queue_write(rec, ["e0", "e1", "e2"])
    with pytest.raises(RuntimeError, match="connection dropped"):
        GraphRepository(rec).write(CHECKPOINT, graph_record(), tiny_snin(), on_edges=_interrupted)
    assert rec.rolled_back == [1] and rec.names().count("graph_exists") == 2


def test_graph_write_vanished_checkpoint_is_an_error():
    rec = RecordingStore().queue("graph_exists", [], [])  # create_graph returns no row
    with pytest.raises(DatabaseError, match="vanished during ingest"):
        GraphRepository(rec).write(CHECKPOINT, graph_record(), tiny_snin())
    assert rec.rolled_back == [1]


def test_graph_pull_builds_the_snin_in_stored_order():
    gid = GRAPH_ROW["gid"]
    rec = RecordingStore().queue("get_graph", [GRAPH_ROW])
    rec.queue("pull_nodes", [{"ids": ["e0", "e1", "e2"], "layer": [0, 1, 1], "kind": ["input", "qkv", "qkv"],
                              "block": [0, 0, 0], "index": [5, 7, 9], "part": ["", "q", "k"]}])
    rec.queue("pull_edges", [{"src": ["e1", "e0", "e0"], "dst": ["e2", "e2", "e1"], "w": [2.0, -0.25, 0.5]}])
    snin = GraphRepository(rec).pull(gid)
    assert rec.calls == [Call("get_graph", {"gid": gid}), Call("pull_nodes", {"gid": gid}),
                         Call("pull_edges", {"gid": gid})]
    assert snin.gid == gid and snin.n_nodes == 3 and snin.n_edges == 3
    assert sorted(zip(snin.src.tolist(), snin.dst.tolist(), snin.w.tolist())) == [
        (0, 1, 0.5), (0, 2, -0.25), (1, 2, 2.0)]
    assert snin.index.tolist() == [5, 7, 9] and snin.meta["k"] == 2


def test_graph_pull_order_is_the_graphs_not_the_servers():
    """The same stored rows in another order (another server's) pull the same SNIN."""
    nodes = {"ids": ["e0", "e1", "e2"], "layer": [0, 1, 1], "kind": ["input", "qkv", "qkv"],
             "block": [0, 0, 0], "index": [5, 7, 9], "part": ["", "q", "k"]}
    edges = {"src": ["e1", "e0", "e0"], "dst": ["e2", "e2", "e1"], "w": [2.0, -0.25, 0.5]}
    pulled = []
    for node_order, edge_order in (([0, 1, 2], [0, 1, 2]), ([2, 0, 1], [1, 2, 0])):
        rec = RecordingStore().queue("get_graph", [GRAPH_ROW])
        rec.queue("pull_nodes", [{k: [v[i] for i in node_order] for k, v in nodes.items()}])
        rec.queue("pull_edges", [{k: [v[i] for i in edge_order] for k, v in edges.items()}])
        pulled.append(GraphRepository(rec).pull(GRAPH_ROW["gid"]))
    for column in ("layer", "kind", "block", "index", "part", "src", "dst", "w", "structural"):
        assert getattr(pulled[0], column).tolist() == getattr(pulled[1], column).tolist(), column
    assert pulled[0].src.tolist() == [0, 0, 1] and pulled[0].dst.tolist() == [1, 2, 2]


def test_graph_pull_refuses_an_inconsistent_graph():
    rec = RecordingStore().queue("get_graph", [GRAPH_ROW])
    rec.queue("pull_nodes", [{"ids": ["e0", "e1"], "layer": [0, 1], "kind": ["input", "qkv"],
                              "block": [0, 0], "index": [5, 7], "part": ["", ""]}])
    rec.queue("pull_edges", [{"src": ["e0"], "dst": ["e1"], "w": [0.5]}])
    with pytest.raises(AnalysisError, match="1 synapses stored, 3 expected"):
        GraphRepository(rec).pull(GRAPH_ROW["gid"])


def test_graph_list():
    rec = RecordingStore().queue("list_graphs", [GRAPH_ROW], [])
    repo = GraphRepository(rec)
    assert repo.list_graphs("m") == [graph_record()]
    assert repo.list_graphs() == []
    assert rec.calls == [Call("list_graphs", {"model": "m"}), Call("list_graphs", {"model": None})]


def test_graphs_of_model():
    row = {"gid": "g", "step": 4, "sample": 0, "nodes": 3, "edges": 3}
    rec = RecordingStore().queue("analysis_graphs", [row])
    assert GraphRepository(rec).of_model("m", steps=(4,), samples=[0]) == [GraphSummary(**row)]
    assert rec.calls == [Call("analysis_graphs", {"model": "m", "steps": [4], "samples": [0]})]


def test_graphs_of_model_say_what_is_stored():
    rec = RecordingStore().queue("analysis_graphs", [], [])
    rec.queue("model_steps", [{"steps": [8, 0], "samples": [1, 0]}], [{"steps": [], "samples": []}])
    repo = GraphRepository(rec)
    with pytest.raises(NotFoundError, match="no graph at step 5") as err:
        repo.of_model("m", steps=[5])
    assert err.value.hint == "stored steps: 0, 8; samples: 0, 1"
    with pytest.raises(NotFoundError, match="no stored graphs of model 'n'"):
        repo.of_model("n")
    assert rec.calls == [Call("analysis_graphs", {"model": "m", "steps": [5], "samples": None}),
                         Call("model_steps", {"model": "m"}),
                         Call("analysis_graphs", {"model": "n", "steps": None, "samples": None}),
                         Call("model_steps", {"model": "n"})]


def test_graph_steps():
    rec = RecordingStore().queue("model_steps", [{"steps": [0, 1], "samples": [0]}])
    assert GraphRepository(rec).steps("m") == StoredSteps(steps=[0, 1], samples=[0])
    assert rec.calls == [Call("model_steps", {"model": "m"})]


# -- analyses --------------------------------------------------------------------------------

RECORD = AnalysisRecord(aid="a1", graph="g", mode="one-hop", threshold=150.0, params="{}", q=[0.0],
                        tau=[1.0], alpha=[1.0], f=[0.5], r2=[0.99], alpha0=1.2, width=0.8, nodes_used=2,
                        edges_used=1, passed_filter=True)
ROWS: list[MeasuredRow] = [{"uid": "g/0/5", "nfd": 1.5, "mass": 3}, {"uid": "g/1/7", "nfd": None, "mass": 0},
                           {"uid": "g/1/9", "nfd": 0.5, "mass": 2}]


def test_write_back_runs_every_statement_in_one_transaction(monkeypatch):
    monkeypatch.setattr(analyses, "MEASURED_BATCH", 2)
    rec = RecordingStore().queue("writeback_check", [{"status": "running", "claim": "tok"}])
    rec.queue("analysis_create", [{"aid": "a1"}]).queue("measured_create", [{"n": 2}], [{"n": 1}])
    committed = []
    seconds = AnalysisRepository(rec).write_back(RECORD, ROWS, jid="j1", token="tok",
                                                 on_commit=lambda: committed.append(list(rec.names())))
    assert seconds >= 0 and rec.committed == [1] and {c.tx for c in rec.calls} == {1}
    assert rec.names() == ["writeback_check", "analysis_delete", "analysis_create", "measured_create",
                           "measured_create", "analysis_write_time", "job_done"]
    assert committed == [rec.names()]  # on_commit ran last, inside the transaction
    calls = rec.calls
    assert calls[0].params == {"jid": "j1", "token": "tok"}
    assert calls[1].params == {"aid": "a1"}
    assert calls[2].params == RECORD.model_dump()
    assert calls[3].params == {"aid": "a1", "rows": ROWS[:2]}
    assert calls[4].params == {"aid": "a1", "rows": ROWS[2:]}
    assert calls[5].params["aid"] == "a1" and calls[5].params["seconds"] >= 0
    assert calls[6].params["jid"] == "j1" and calls[6].params["aid"] == "a1" and calls[6].params["now"]


def test_write_back_without_a_job():
    rec = RecordingStore().queue("analysis_create", [{"aid": "a1"}]).queue("measured_create", [{"n": 3}])
    AnalysisRepository(rec).write_back(RECORD, ROWS)
    assert rec.names() == ["analysis_delete", "analysis_create", "measured_create", "analysis_write_time"]


@pytest.mark.parametrize(("row", "status", "words"), [
    (None, "missing", "was deleted"),
    ({"status": "cancelled", "claim": "tok"}, "cancelled", "was cancelled"),
    ({"status": "running", "claim": "other"}, "running", "taken over by another worker"),
])
def test_write_back_of_a_lost_job_writes_nothing(row, status, words):
    rec = RecordingStore().queue("writeback_check", [row] if row else [])
    with pytest.raises(JobLost, match=words) as err:
        AnalysisRepository(rec).write_back(RECORD, ROWS, jid="j1", token="tok")
    assert err.value.status == status
    assert rec.names() == ["writeback_check"] and rec.rolled_back == [1] and not rec.committed


def test_write_back_rolls_back_when_neurons_are_missing():
    rec = RecordingStore().queue("analysis_create", [{"aid": "a1"}]).queue("measured_create", [{"n": 2}])
    with pytest.raises(AnalysisError, match="has 2 of the 3 analysed neurons"):
        AnalysisRepository(rec).write_back(RECORD, ROWS)
    assert rec.rolled_back == [1] and "analysis_write_time" not in rec.names()


def test_write_back_of_a_deleted_graph():
    rec = RecordingStore()  # analysis_create matches no Graph: no row
    with pytest.raises(AnalysisError, match="was deleted before its analysis"):
        AnalysisRepository(rec).write_back(RECORD, ROWS)
    assert rec.names() == ["analysis_delete", "analysis_create"] and rec.rolled_back == [1]


def test_results_rows():
    analysed = {"gid": "g", "step": 4, "sample": 0, "headline": "a1", "aid": "a1", "mode": "one-hop",
                "threshold": 150.0, "params": "{}", "alpha0": 1.2, "width": 0.8, "r2": [0.9, None],
                "nodes_used": 2, "edges_used": 1, "passed_filter": True, "band": "absolute", "null": None,
                "null_alpha0_mean": None, "null_width_mean": None, "null_alpha0_std": None,
                "null_width_std": None, "alpha0_z": None, "width_z": None, "seconds_pull": 0.1,
                "seconds_compute": 0.2, "seconds_write": 0.3, "created": "2025"}
    bare = {**{k: None for k in analysed}, "gid": "h", "step": 8, "sample": 1}
    rec = RecordingStore().queue("results_rows", [analysed, bare])
    rows = AnalysisRepository(rec).results("m", steps=(4, 8))
    assert rows == [ResultRow(**{**analysed, "r2": [0.9, None]}), ResultRow(gid="h", step=8, sample=1)]
    assert rec.calls == [Call("results_rows", {"model": "m", "steps": [4, 8]})]
    AnalysisRepository(rec).results("m")
    assert rec.calls[-1] == Call("results_rows", {"model": "m", "steps": None})


def test_spectra_rows():
    row = {"gid": "g", "step": 4, "sample": 0, "headline": None, "aid": "a1", "mode": "layered",
           "alpha": [0.5, 1.0], "f": [0.2, 1.0], "created": "2025"}
    rec = RecordingStore().queue("spectra_rows", [row])
    assert AnalysisRepository(rec).spectra("m", "layered") == [SpectrumRow(**row)]
    assert rec.calls == [Call("spectra_rows", {"model": "m", "mode": "layered"})]


def test_nfd_rows_keep_ineligible_neurons():
    rec = RecordingStore().queue("nfd_rows", [{"rows": [
        {"kind": "qkv", "block": 0, "nfd": 1.5, "mass": 3}, {"kind": "input", "block": 0, "nfd": None, "mass": 0}]}])
    assert AnalysisRepository(rec).nfd(("a1", "a2")) == [NfdRow(kind="qkv", block=0, nfd=1.5, mass=3),
                                                          NfdRow(kind="input", block=0, nfd=None, mass=0)]
    assert rec.calls == [Call("nfd_rows", {"aids": ["a1", "a2"]})]


def test_analyses_present():
    rec = RecordingStore().queue("analyses_present", [{"aids": ["a2"]}])
    assert AnalysisRepository(rec).present(["a1", "a2"]) == {"a2"}
    assert rec.calls == [Call("analyses_present", {"aids": ["a1", "a2"]})]


def test_recording_store_knows_only_real_statements():
    with pytest.raises(KeyError, match="no_such_statement"):
        RecordingStore().queue("no_such_statement", [])
