"""Helpers for the job tests: real fixture graphs written to the test database."""

from __future__ import annotations

import json
from pathlib import Path

from neuromfa.ingest.build import snin_for_checkpoint
from neuromfa.schema.records import CheckpointRecord, GraphRecord, ModelRecord, graph_id
from neuromfa.schema.snin import SNIN

FIXTURE = Path(__file__).parent / "fixtures" / "neox-h64-l2"


def store_graph(store, snin: SNIN, model: str, step: int, sample: int, k: int = 32,
                metrics: dict | None = None) -> str:
    """Write ``snin`` as graph (model, step, sample); returns its gid."""
from neuromfa.store.graphs import GraphRepository
from neuromfa.store.models import ModelRepository
    meta = snin.meta
    gid = graph_id(model, step, sample, k)
    ModelRepository(store).ensure(ModelRecord(name=model, arch=meta["arch"], hidden=meta["hidden"],
                                              blocks=meta["blocks"], params=meta["params"],
                                              source=str(meta.get("source", ""))))
    GraphRepository(store).write(
        CheckpointRecord(model=model, step=step, metrics=json.dumps(metrics or {})),
        GraphRecord(gid=gid, model=model, step=step, sample=sample, seed=sample, k=k,
                    nodes=snin.n_nodes, edges=snin.n_edges),
        snin,
    )
    return gid


def store_fixture(store, model: str = "neox", steps=(0,), samples=(0,), k: int = 32,
                  metrics: dict[int, dict] | None = None) -> dict[tuple[int, int], SNIN]:
    """Ingest the fixture checkpoint as every (step, sample); returns the SNINs built."""
    built = {}
    for sample in samples:
        snin = snin_for_checkpoint(FIXTURE, sample=sample, k=k)
        for step in steps:
            store_graph(store, snin, model, step, sample, k, (metrics or {}).get(step))
            built[(step, sample)] = snin
    return built


COUNT_ANALYSES = "MATCH (a:Analysis) RETURN count(a) AS n"
COUNT_MEASURED = "MATCH (:Neuron)-[m:MEASURED]->(:Analysis) RETURN count(m) AS n"
COUNT_JOBS = "MATCH (j:Job) RETURN count(j) AS n"


def count(store, query: str) -> int:
    return store.read(query)[0]["n"]


def settings_for(graph_server, store):
    """DatabaseSettings naming the test database (what executors hand to their processes)."""
    from neuromfa.settings import DatabaseSettings

    return DatabaseSettings(uri=graph_server.uri, username=graph_server.username,
                            password=graph_server.password, database=store.database)
