"""Deleting what is stored: a model (its checkpoints and every graph), one graph, one analysis,
each with everything under it (neurons, synapses, analyses and their MEASURED edges, jobs).

Each graph goes in ONE transaction (its jobs, analyses, neurons with their synapses, the Graph
node), so a graph is either all there or all gone: a reader never sees half a graph, and an
interrupted delete leaves whole graphs behind (run it again). A model's graphs go one
transaction each, then its checkpoints and the Model in a last one, which deletes them only
when no Graph of the model is left (one ingested meanwhile keeps the model: DatabaseError).

Speed: inside the transaction nodes go by element id in batches of DELETE_BATCH. On the local
server this is as fast as the plain DETACH DELETE statements a user would write
(benchmarks/store/bench_delete.py measures both in one run: 3.03 s against 2.92 s for a model
of two 123k-synapse graphs on a quiet machine, median of 3 rounds), and those are not
transactional per graph. CALL { } IN TRANSACTIONS would batch too, but commits each batch on its own: not
transactional per graph either.

Statements: delete_model_plan, delete_graph_plan, delete_graph_ids, delete_graph_jobs,
delete_analyses, delete_nodes, delete_graph_node, delete_model_rest, delete_analysis_plan,
delete_analysis, graph_reset_headline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Literal

from pydantic import BaseModel

from neuromfa.base.errors import DatabaseError, NotFoundError, action
from neuromfa.store.named import NamedStore, NamedTx

DELETE_BATCH = 5_000  # element ids per statement: bounds the parameter list, not the transaction

Target = Literal["model", "graph", "analysis"]


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


class Removed(BaseModel):
    """Counts of what a delete removes (a plan: what it would remove; the MEASURED edges of a
    plan are not counted ahead, so None there)."""

    models: int = 0
    checkpoints: int = 0
    graphs: int = 0
    neurons: int = 0
    synapses: int = 0
    analyses: int = 0
    measured: int | None = 0
    jobs: int = 0

    def __add__(self, other: Removed) -> Removed:
        measured = None if self.measured is None or other.measured is None else self.measured + other.measured
        return Removed(models=self.models + other.models, checkpoints=self.checkpoints + other.checkpoints,
                       graphs=self.graphs + other.graphs, neurons=self.neurons + other.neurons,
                       synapses=self.synapses + other.synapses, analyses=self.analyses + other.analyses,
                       measured=measured, jobs=self.jobs + other.jobs)

    def summary(self) -> str:
        """One line: '1 model, 13 checkpoints, 39 graphs (…neurons, …synapses), …'."""
        parts = []
        if self.models:
            parts.append(_plural(self.models, "model"))
        if self.models or self.checkpoints:
            parts.append(_plural(self.checkpoints, "checkpoint"))
        if self.graphs or self.models:
            parts.append(f"{_plural(self.graphs, 'graph')} ({_plural(self.neurons, 'neuron')}, "
                         f"{_plural(self.synapses, 'synapse')})")
        measured = "" if self.measured is None else f" ({_plural(self.measured, 'MEASURED edge')})"
        parts.append(_plural(self.analyses, "analysis").replace("analysiss", "analyses") + measured)
        parts.append(_plural(self.jobs, "job"))
        return ", ".join(parts)


class DeletePlan(BaseModel):
    """What a delete of ``target`` ``key`` will remove (``gids``: the graphs, for a model)."""

    target: Target
    key: str
    gids: list[str] = []
    removes: Removed


def _batched(tx: NamedTx, statement: str, ids: Sequence[str]) -> list[dict[str, int]]:
    return [tx.run_named(statement, ids=list(ids[lo:lo + DELETE_BATCH]))[0] for lo in range(0, len(ids), DELETE_BATCH)]


def delete_graph_in(tx: NamedTx, gid: str) -> Removed:
    """Inside ``tx``: graph ``gid`` with its jobs, analyses (and MEASURED edges), neurons and
    synapses. Nothing (all zero) when it is not stored."""
    plan = tx.run_named("delete_graph_plan", gid=gid)
    if not plan:
        return Removed()
    ids = tx.run_named("delete_graph_ids", gid=gid)[0]
    jobs = tx.run_named("delete_graph_jobs", gid=gid)
    gone = _batched(tx, "delete_analyses", ids["analyses"])
    neurons = sum(r["nodes"] for r in _batched(tx, "delete_nodes", ids["neurons"]))
    tx.run_named("delete_graph_node", gid=gid)
    return Removed(graphs=1, neurons=neurons, synapses=int(plan[0]["synapses"] or 0),
                   analyses=sum(r["analyses"] for r in gone), measured=sum(int(r["measured"] or 0) for r in gone),
                   jobs=jobs[0]["jobs"] if jobs else 0)


class DeleteRepository:
    """Plans and runs deletes of models, graphs and analyses."""

    def __init__(self, store: NamedStore):
        self.store = store

    # -- plans (read only) ----------------------------------------------------------------------
    def plan_model(self, name: str) -> DeletePlan:
        rows = self.store.read_named("delete_model_plan", name=name)
        if not rows:
            raise NotFoundError(f"no model named {name!r}", f"{action('graphs')} lists the stored models")
        r = rows[0]
        graphs = [self.plan_graph(gid).removes for gid in r["gids"]]
        jobs, analyses = sum(g.jobs for g in graphs), sum(g.analyses for g in graphs)
        return DeletePlan(target="model", key=name, gids=sorted(r["gids"]), removes=Removed(
            models=1, checkpoints=r["checkpoints"], graphs=len(r["gids"]), neurons=int(r["neurons"] or 0),
            synapses=int(r["synapses"] or 0), analyses=analyses, measured=None, jobs=jobs))

    def plan_graph(self, gid: str) -> DeletePlan:
        rows = self.store.read_named("delete_graph_plan", gid=gid)
        if not rows:
            raise NotFoundError(f"no graph with gid {gid!r}", f"list stored graphs with {action('graphs')}")
        r = rows[0]
        return DeletePlan(target="graph", key=gid, gids=[gid], removes=Removed(
            graphs=1, neurons=int(r["neurons"] or 0), synapses=int(r["synapses"] or 0), analyses=r["analyses"],
            measured=None, jobs=r["jobs"]))

    def plan_analysis(self, aid: str) -> DeletePlan:
        rows = self.store.read_named("delete_analysis_plan", aid=aid)
        if not rows:
            raise NotFoundError(f"no analysis with id {aid!r}",
                                f"{action('results', model=None, all=True)} lists a model's analyses and their ids")
        return DeletePlan(target="analysis", key=aid, gids=[rows[0]["graph"]],
                          removes=Removed(analyses=1, measured=None, jobs=rows[0]["jobs"]))

    def plan(self, target: Target, key: str) -> DeletePlan:
        return {"model": self.plan_model, "graph": self.plan_graph, "analysis": self.plan_analysis}[target](key)

    # -- deletes --------------------------------------------------------------------------------
    def delete_graph(self, gid: str) -> Removed:
        """Graph ``gid`` and everything under it, in one transaction (NotFoundError: not stored)."""
        self.plan_graph(gid)
        return self.store.run_in_write_tx_named(lambda tx: delete_graph_in(tx, gid))

    def delete_model(self, name: str, on_graph: Callable[[str, Removed], None] | None = None) -> Removed:
        """Model ``name``: each graph in its own transaction (``on_graph`` after each), then its
        checkpoints, leftover jobs and the Model in one more."""
        plan = self.plan_model(name)
        total = Removed()
        for gid in plan.gids:
            removed = self.store.run_in_write_tx_named(partial(delete_graph_in, gid=gid))
            total += removed
            if on_graph is not None:
                on_graph(gid, removed)
        rest = self.store.run_in_write_tx_named(lambda tx: tx.run_named("delete_model_rest", name=name,
                                                                         prefix=f"{name}@"))
        if not rest:
            left = self.store.read_named("delete_model_plan", name=name)
            if left and left[0]["gids"]:
                raise DatabaseError(f"{_plural(len(left[0]['gids']), 'graph')} of model {name!r} were stored while "
                                    "deleting it; the model and its checkpoints are kept",
                                    "stop the ingest and delete the model again")
            return total  # deleted meanwhile by someone else
        return total + Removed(models=1, checkpoints=rest[0]["checkpoints"], jobs=rest[0]["jobs"])

    def delete_analysis(self, aid: str) -> Removed:
        """Analysis ``aid`` with its MEASURED edges and jobs, in one transaction; its Graph's
        headline moves to the newest remaining analysis (none when none is left)."""
        plan = self.plan_analysis(aid)
        gid = plan.gids[0]

        def work(tx: NamedTx) -> Removed:
            rows = tx.run_named("delete_analysis", aid=aid)
            if not rows:
                return Removed()
            tx.run_named("graph_reset_headline", gid=gid, aid=aid)
            return Removed(analyses=1, measured=int(rows[0]["measured"] or 0), jobs=rows[0]["jobs"])

        return self.store.run_in_write_tx_named(work)
