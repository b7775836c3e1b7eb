"""results --by-block: each block's sub-SNIN analysed with its graph's parameters."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from jobs_helpers import FIXTURE
from test_jobs_results import store_analysis
from typer.testing import CliRunner

from neuromfa import api
from neuromfa.analysis.engine import analyze_snin
from neuromfa.base.errors import AnalysisError
from neuromfa.cli.main import app
from neuromfa.ingest.pipeline import ingest_path
from neuromfa.ingest.scope import block_snin, make_scope
from neuromfa.results.by_block import by_block_frame
from neuromfa.schema.params import AnalysisParams
from neuromfa.schema.records import graph_id
from neuromfa.store.graphs import GraphRepository

K = 8
P = AnalysisParams(mode="one-hop", min_mass=3, threshold=50.0)


def test_by_block_rows_equal_the_engine_and_a_restricted_ingest(store, db_env):
    scope = make_scope("1-1")
    ingest_path(store, FIXTURE, name="full", samples=1, k=K, baselines=False)
    ingest_path(store, FIXTURE, name="b1", samples=1, k=K, baselines=False, scope=scope)
    graphs = GraphRepository(store)
    full_gid, b1_gid = graph_id("full", 0, 0, K), graph_id("b1", 0, 0, K) + scope.suffix
    full = graphs.pull(full_gid)
    whole = store_analysis(store, full, full_gid, P)
    b1 = store_analysis(store, graphs.pull(b1_gid), b1_gid, P)

    rows = by_block_frame(store, "full", api.results("full", store=store))
    assert rows["block"].tolist() == [0, 1] and (rows["gid"] == full_gid).all()
    assert rows.loc[0, "alpha0"] == pytest.approx(analyze_snin(block_snin(full, 0), P).spectrum.alpha0, abs=1e-12)
    # block 1 of the full graph holds the same neurons and weights as the graph ingested with --blocks 1-1
    assert rows.loc[1, "alpha0"] == pytest.approx(b1.alpha0, abs=1e-12)
    assert rows.loc[1, "width"] == pytest.approx(b1.width, abs=1e-12)
    assert rows.loc[0, "alpha0"] != pytest.approx(whole.alpha0)
    only = by_block_frame(store, "b1", api.results("b1", store=store))
    assert only["block"].tolist() == [1] and only.loc[0, "alpha0"] == pytest.approx(b1.alpha0, abs=1e-12)

    res = CliRunner(env=db_env).invoke(app, ["results", "-m", "full", "--by-block", "-f", "csv"])
    assert res.exit_code == 0, res.output
    csv = pd.read_csv(io.StringIO(res.stdout))
    assert csv["block"].tolist() == [0, 1] and csv["alpha0"].tolist() == pytest.approx(rows["alpha0"].tolist())


def test_by_block_needs_an_analysis(store):
    ingest_path(store, FIXTURE, name="bare", samples=1, k=K, baselines=False)
    with pytest.raises(AnalysisError, match="no analysed graph"):
        by_block_frame(store, "bare", api.results("bare", store=store))
