"""Ingest, analyze, results and emergence of a checkpoint no other test uses give the same
numbers on every server: on each, the stored and pulled graphs equal the ones built in memory
and the results equal the engine's on those; the second server's tables equal the first's
exactly (the first server's tables wait in a session cache)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from jobs_helpers import settings_for
from model_builders import save, tiny_model

from neuromfa import api
from neuromfa.analysis.engine import analyze_snin
from neuromfa.ingest.build import snin_for_checkpoint
from neuromfa.schema.params import AnalysisParams
from neuromfa.schema.records import graph_id
from neuromfa.store.graphs import GraphRepository

MODEL = "agree"
STEPS = {0: 4101, 100: 4102}  # step -> seed of a tiny llama no other test builds
SAMPLES, K = 2, 8
# with a null model: its seeded draws follow the pulled graph's order, which must not be the server's
PARAMS = AnalysisParams(mode="one-hop", null="shuffle", null_samples=2)
_TABLES: dict[str, dict[str, pd.DataFrame]] = {}  # server -> its tables, for the next server


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    root = tmp_path_factory.mktemp("agree")
    return {step: save(tiny_model("llama", seed), root / f"step{step}") for step, seed in STEPS.items()}


def _synapses(snin) -> tuple[list[tuple], list[tuple]]:
    """Neurons as (layer, kind, block, index) and synapses between them, both sorted: the
    graph whatever order a server returns its rows in."""
    names = list(zip(snin.layer.tolist(), snin.kind.tolist(), snin.block.tolist(), snin.index.tolist()))
    edges = sorted((names[a], names[b], w, s) for a, b, w, s in
                   zip(snin.src.tolist(), snin.dst.tolist(), snin.w.tolist(), snin.structural.tolist()))
    return sorted(names), edges


def _same(a: pd.DataFrame, b: pd.DataFrame, what: str) -> None:
    """Equal columns and values, floats bit for bit (NaN where NaN)."""
    assert list(a.columns) == list(b.columns), what
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True),
                                  check_exact=True, obj=what)


def test_same_numbers_on_every_server(store, graph_server, checkpoints) -> None:
    for step, path in checkpoints.items():
        api.ingest(path, name=MODEL, step=step, samples=SAMPLES, k=K, store=store)
    repo = GraphRepository(store)
    expected = {}
    for step, path in checkpoints.items():
        for sample in range(SAMPLES):
            built = snin_for_checkpoint(path, sample=sample, k=K)
            pulled = repo.pull(graph_id(MODEL, step, sample, K))
            assert _synapses(pulled) == _synapses(built)  # the same graph, in whatever order
            expected[(step, sample)] = analyze_snin(built, PARAMS).spectrum
    report = api.analyze(MODEL, params=PARAMS, settings=settings_for(graph_server, store))
    assert [o.status for o in report.outcomes] == ["done"] * len(expected)
    results = api.results(MODEL, store=store)
    for row in results.itertuples():
        spectrum = expected[(row.step, row.sample)]
        assert (row.alpha0, row.width) == (spectrum.alpha0, spectrum.width)
    assert results["alpha0"].nunique() == len(expected)  # four different graphs
    emergence = api.emergence(MODEL, store=store)
    assert emergence["step"].tolist() == sorted(STEPS) and emergence["n_samples"].tolist() == [2, 2]
    volatile = ["aid", "created", "seconds", "analysed"]  # ids and times differ by nature
    tables = {"graphs": api.graphs(MODEL, store=store).drop(columns=["created"]),
              "results": results.drop(columns=[c for c in volatile if c in results.columns]),
              "emergence": emergence}
    for server, theirs in _TABLES.items():
        for name, frame in tables.items():
            _same(frame, theirs[name], f"{name} on {graph_server.name} vs {server}")
    _TABLES[graph_server.name] = tables
