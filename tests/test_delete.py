"""neuromfa delete: a model, a graph or an analysis goes with everything under it, and nothing
else (real local server)."""

from __future__ import annotations

import subprocess

import pytest
from jobs_helpers import CLI, FIXTURE, store_graph
from recording_store import RecordingStore
from test_jobs_results import store_analysis
from typer.testing import CliRunner

from neuromfa.base.errors import NotFoundError
from neuromfa.cli.main import app
from neuromfa.ingest.build import snin_for_checkpoint
from neuromfa.jobs.queue import enqueue
from neuromfa.schema.params import AnalysisParams
from neuromfa.schema.records import graph_id
from neuromfa.store import deletes
from neuromfa.store.deletes import DeleteRepository, Removed

ONE_HOP = AnalysisParams(mode="one-hop")
OTHER = AnalysisParams(mode="one-hop", threshold=50.0)
K = 8

# What is stored under a model (by its name on graphs, neurons, analyses and jobs).
CENSUS = {
    "models": "MATCH (m:Model {name: $m}) RETURN count(m) AS n",
    "checkpoints": "MATCH (c:Checkpoint {model: $m}) RETURN count(c) AS n",
    "graphs": "MATCH (g:Graph {model: $m}) RETURN count(g) AS n",
    "neurons": "MATCH (n:Neuron) WHERE n.graph STARTS WITH $m + '@' RETURN count(n) AS n",
    "synapses": "MATCH (n:Neuron)-[s:SYNAPSE]->() WHERE n.graph STARTS WITH $m + '@' RETURN count(s) AS n",
    "analyses": "MATCH (a:Analysis) WHERE a.graph STARTS WITH $m + '@' RETURN count(a) AS n",
    "measured": "MATCH (n:Neuron)-[r:MEASURED]->() WHERE n.graph STARTS WITH $m + '@' RETURN count(r) AS n",
    "jobs": "MATCH (j:Job) WHERE j.graph STARTS WITH $m + '@' RETURN count(j) AS n",
}


def census(store, model: str) -> dict[str, int]:
    return {k: store.read(q, m=model)[0]["n"] for k, q in CENSUS.items()}


def two_models(store) -> None:
    """Models a and b: steps 0 and 1 (k = 8); every graph analysed twice; a job queued for a third set."""
    snin = snin_for_checkpoint(FIXTURE, sample=0, k=K)
    for model in ("a", "b"):
        for step in (0, 1):
            gid = store_graph(store, snin, model, step, 0, K)
            store_analysis(store, snin, gid, ONE_HOP)
            store_analysis(store, snin, gid, OTHER)
        enqueue(store, [graph_id(model, s, 0, K) for s in (0, 1)], AnalysisParams(mode="one-hop", threshold=20.0))


def test_delete_model_removes_exactly_it_and_says_what(store):
    two_models(store)
    before_a, before_b = census(store, "a"), census(store, "b")
    repo = DeleteRepository(store)
    plan = repo.plan_model("a")
    assert plan.removes == Removed(**{**before_a, "measured": None})
    seen = []
    removed = repo.delete_model("a", on_graph=lambda gid, r: seen.append((gid, r.graphs)))
    assert removed == Removed(**before_a)  # every count, MEASURED edges included
    assert before_a["measured"] > 0 and before_a["synapses"] > 0
    assert census(store, "a") == dict.fromkeys(CENSUS, 0)
    assert census(store, "b") == before_b  # the other model is untouched
    assert seen == [(gid, 1) for gid in plan.gids]
    with pytest.raises(NotFoundError, match="no model named 'a'"):
        repo.delete_model("a")


def test_delete_graph_and_analysis_keep_the_rest(store):
    two_models(store)
    repo = DeleteRepository(store)
    gid = graph_id("a", 1, 0, K)
    before = census(store, "a")
    removed = repo.delete_graph(gid)
    assert (removed.graphs, removed.analyses, removed.jobs) == (1, 2, 1)
    after = census(store, "a")
    assert after["graphs"] == 1 and after["checkpoints"] == before["checkpoints"]
    assert {k: before[k] - after[k] for k in ("neurons", "synapses", "measured")} == \
        {"neurons": removed.neurons, "synapses": removed.synapses, "measured": removed.measured}
    assert not store.read("MATCH (n:Neuron {graph: $g}) RETURN n LIMIT 1", g=gid)

    # an analysis: its MEASURED edges go, and the graph's headline moves to the one left
    other = graph_id("a", 0, 0, K)
    headline = store.read("MATCH (g:Graph {gid: $g}) RETURN g.analysis AS aid", g=other)[0]["aid"]
    assert headline == OTHER.analysis_id(other)
    removed = repo.delete_analysis(headline)
    assert removed.analyses == 1 and removed.measured == store.read(
        "MATCH (g:Graph {gid: $g}) RETURN g.nodes AS n", g=other)[0]["n"]
    row = store.read("MATCH (g:Graph {gid: $g}) RETURN g.analysis AS aid, g.alpha0 AS a0", g=other)[0]
    assert row["aid"] == ONE_HOP.analysis_id(other) and row["a0"] is not None
    removed = repo.delete_analysis(ONE_HOP.analysis_id(other))
    row = store.read("MATCH (g:Graph {gid: $g}) RETURN g.analysis AS aid, g.alpha0 AS a0", g=other)[0]
    assert row == {"aid": None, "a0": None}
    assert census(store, "b")["analyses"] == 4
    with pytest.raises(NotFoundError, match="no analysis"):
        repo.delete_analysis(ONE_HOP.analysis_id(other))
    with pytest.raises(NotFoundError, match="no graph"):
        repo.delete_graph(gid)


def test_cli_delete_asks_says_and_removes(store, db_env):
    two_models(store)
    runner = CliRunner(env=db_env)
    before_b = census(store, "b")
    no = runner.invoke(app, ["delete", "model", "a"], input="n\n")
    assert no.exit_code == 1 and "nothing deleted" in no.output
    assert "delete model a: 1 model, 2 checkpoints, 2 graphs" in no.output
    assert census(store, "a")["graphs"] == 2  # refused: all still there
    yes = runner.invoke(app, ["delete", "model", "a"], input="y\n")
    assert yes.exit_code == 0, yes.output
    assert "removed 1 model, 2 checkpoints, 2 graphs" in yes.output and "MEASURED edge" in yes.output
    assert census(store, "a") == dict.fromkeys(CENSUS, 0) and census(store, "b") == before_b
    gid = graph_id("b", 0, 0, K)
    out = runner.invoke(app, ["delete", "graph", gid, "--yes"])
    assert out.exit_code == 0 and "removed 1 graph" in out.output and "2 analyses" in out.output
    missing = subprocess.run([*CLI, "delete", "graph", gid, "--yes"], env=db_env, capture_output=True, text=True)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert missing.stderr.startswith(f"error: no graph with gid '{gid}'") and "neuromfa graphs" in missing.stderr


def test_a_graph_goes_in_one_transaction_in_batches():
    """Statement plumbing (recording store): one transaction per graph; ids in DELETE_BATCH batches;
    jobs, analyses, neurons, then the Graph node."""
    neurons = [f"n{i}" for i in range(deletes.DELETE_BATCH + 3)]
    rec = (RecordingStore()
           .queue("delete_graph_plan", [{"gid": "g", "model": "m", "neurons": len(neurons), "synapses": 99,
                                         "analyses": 1, "jobs": 2}], [{"gid": "g", "model": "m", "neurons": 0,
                                                                       "synapses": 99, "analyses": 1, "jobs": 2}])
           .queue("delete_graph_ids", [{"neurons": neurons, "analyses": ["a1"]}])
           .queue("delete_graph_jobs", [{"jobs": 2}])
           .queue("delete_analyses", [{"analyses": 1, "measured": 7}])
           .queue("delete_nodes", [{"nodes": deletes.DELETE_BATCH}], [{"nodes": 3}]))
    removed = DeleteRepository(rec).delete_graph("g")
    assert removed == Removed(graphs=1, neurons=len(neurons), synapses=99, analyses=1, measured=7, jobs=2)
    assert rec.names() == ["delete_graph_plan", "delete_graph_plan", "delete_graph_ids", "delete_graph_jobs",
                           "delete_analyses", "delete_nodes", "delete_nodes", "delete_graph_node"]
    assert {c.tx for c in rec.calls[1:]} == {1} and rec.committed == [1]
    assert [len(c.params["ids"]) for c in rec.calls if c.name == "delete_nodes"] == [deletes.DELETE_BATCH, 3]
