"""Every named query on the real local server, over the hand-built graph of
tests/fixtures/query_graph.cypher; expected rows worked out by hand from its values."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import query_graph as qg

from neuromfa.base.errors import ConfigError, DatabaseError
from neuromfa.cli.console import error_lines
from neuromfa.queries import get_query, list_queries, run_cypher, run_query
from neuromfa.queries.runner import read_only
from neuromfa.store.connection import Store

G0, G1, G4 = qg.G0, qg.G1, qg.G4


@pytest.fixture
def graph(store: Store) -> Store:
    qg.load(store)
    return store


def _cell(value):
    return None if isinstance(value, float) and math.isnan(value) else value


def assert_rows(df: pd.DataFrame, expected: list[tuple], columns: list[str] | None = None) -> None:
    """``df`` holds exactly ``expected`` (tuples in column order; floats to 1e-9)."""
    if columns is not None:
        assert list(df.columns) == columns
    got = [tuple(_cell(v) for v in row) for row in df.itertuples(index=False)]
    assert len(got) == len(expected), got
    for g, e in zip(got, expected):
        assert len(g) == len(e), g
        for gv, ev in zip(g, e):
            if isinstance(ev, float):
                assert gv == pytest.approx(ev, rel=1e-9, abs=1e-12), (g, e)
            else:
                assert gv == ev, (g, e)


def test_named_functions_match_run_query(graph):
    from neuromfa.queries import named

    df = named.strongest_synapses(store=graph, graph=G0, kind="input", limit=2)
    pd.testing.assert_frame_equal(
        df, run_query("strongest-synapses", store=graph, graph=G0, kind="input", limit=2))
    assert list(named.checkpoints(store=graph, model="tiny").step) == [0, 100]


def test_every_query_returns_its_declared_columns(graph):
    for info in list_queries():
        df = run_query(info.name, store=graph)
        assert list(df.columns) == list(info.returns), info.name
        assert len(df) > 0, info.name  # the fixture has data for every default


def test_strongest_synapses(graph):
    cols = ["graph", "src_index", "dst_kind", "dst_block", "dst_index", "w", "d"]
    assert_rows(run_query("strongest-synapses", store=graph), [
        (G1, 7, "output", 0, 2, -0.4, 2.5),
        (G1, 7, "output", 0, 1, 0.2, 5.0),
        (G1, 12, "output", 0, 2, 0.005, 200.0),
    ], cols)
    assert_rows(run_query("strongest-synapses", store=graph, graph=G0, kind="input", limit=2), [
        (G0, 0, "qkv", 0, 5, -0.5, 2.0),
        (G0, 0, "qkv", 0, 1, 0.25, 4.0),
    ])
    # qkv only has structural edges: none by default, both with learned_only=false
    assert_rows(run_query("strongest-synapses", store=graph, kind="qkv"), [], cols)
    assert_rows(run_query("strongest-synapses", store=graph, kind="qkv", learned_only=False), [
        (G1, 1, "context", 0, 1, 1.0, 1.0),
        (G1, 5, "context", 0, 1, 1.0, 1.0),
    ])


def test_hub_neurons(graph):
    cols = ["graph", "kind", "block", "index", "strength", "out_strength", "in_strength",
            "out_degree", "in_degree"]
    assert_rows(run_query("hub-neurons", store=graph), [
        (G1, "context", 0, 1, 2.1, 2.1, 0, 2, 0),
        (G1, "attn_out", 0, 2, 0.81, 0.81, 0.1, 2, 1),
        (G1, "input", 0, 0, 0.75, 0.75, 0, 2, 0),
        (G1, "mlp_hidden", 0, 7, 0.6, 0.6, 0.85, 2, 2),
        (G1, "attn_out", 0, 0, 0.05, 0.05, 2.0, 1, 1),
        (G1, "input", 0, 3, 0.024, 0.024, 0, 2, 0),
        (G1, "mlp_hidden", 0, 12, 0.005, 0.005, 0.01, 1, 1),
        (G1, "qkv", 0, 1, 0, 0, 0.52, 0, 2),
        (G1, "qkv", 0, 5, 0, 0, 0.254, 0, 2),
        (G1, "output", 0, 1, 0, 0, 0.2, 0, 1),
    ], cols)
    assert_rows(run_query("hub-neurons", store=graph, direction="in", limit=3), [
        (G1, "attn_out", 0, 0, 2.0, 0.05, 2.0, 1, 1),
        (G1, "mlp_hidden", 0, 7, 0.85, 0.6, 0.85, 2, 2),
        (G1, "qkv", 0, 1, 0.52, 0, 0.52, 0, 2),
    ])
    assert_rows(run_query("hub-neurons", store=graph, direction="both", limit=2), [
        (G1, "context", 0, 1, 2.1, 2.1, 0, 2, 0),
        (G1, "attn_out", 0, 0, 2.05, 0.05, 2.0, 1, 1),
    ])
    assert_rows(run_query("hub-neurons", store=graph, direction="in", kind="output"), [
        (G1, "output", 0, 2, 0.405, 0, 0.405, 0, 2),
        (G1, "output", 0, 1, 0.2, 0, 0.2, 0, 1),
    ])
    # with the structural edges, qkv neurons send |w| = 1 to the context neuron
    df = run_query("hub-neurons", store=graph, kind="qkv", learned_only=False)
    assert_rows(df, [(G1, "qkv", 0, 1, 1.0, 1.0, 0.52, 1, 2), (G1, "qkv", 0, 5, 1.0, 1.0, 0.254, 1, 2)])


def test_weight_histogram(graph):
    cols = ["graph", "kind", "bin", "bin_lo", "bin_hi", "edges"]
    assert_rows(run_query("weight-histogram", store=graph, bins=2), [
        (G1, "attn_out", 0, -0.05, 0.375, 2), (G1, "attn_out", 1, 0.375, 0.8, 1),
        (G1, "context", 0, -2.0, -0.95, 1), (G1, "context", 1, -0.95, 0.1, 1),
        (G1, "input", 0, -0.25, 0.125, 3), (G1, "input", 1, 0.125, 0.5, 1),
        (G1, "mlp_hidden", 0, -0.4, -0.1, 1), (G1, "mlp_hidden", 1, -0.1, 0.2, 2),
    ], cols)
    # empty bins are listed with 0 edges
    df = run_query("weight-histogram", store=graph, bins=4)
    assert_rows(df[df.kind == "attn_out"], [
        (G1, "attn_out", 0, -0.05, 0.1625, 2), (G1, "attn_out", 1, 0.1625, 0.375, 0),
        (G1, "attn_out", 2, 0.375, 0.5875, 0), (G1, "attn_out", 3, 0.5875, 0.8, 1),
    ])
    # one distinct weight: every edge in bin 0
    assert_rows(run_query("weight-histogram", store=graph, graph=G4, bins=2), [
        (G4, "input", 0, 0.5, 0.5, 1), (G4, "input", 1, 0.5, 0.5, 0),
    ])


def test_distance_histogram(graph):
    cols = ["graph", "kind", "bin", "bin_lo", "bin_hi", "edges"]
    assert_rows(run_query("distance-histogram", store=graph, bin_width=40, max_d=100), [
        (G1, "attn_out", 0, 0.0, 40.0, 2), (G1, "attn_out", 1, 40.0, 80.0, 0),
        (G1, "attn_out", 2, 80.0, 100.0, 1), (G1, "attn_out", 3, 100.0, None, 0),
        (G1, "context", 0, 0.0, 40.0, 2), (G1, "context", 1, 40.0, 80.0, 0),
        (G1, "context", 2, 80.0, 100.0, 0), (G1, "context", 3, 100.0, None, 0),
        (G1, "input", 0, 0.0, 40.0, 2), (G1, "input", 1, 40.0, 80.0, 1),
        (G1, "input", 2, 80.0, 100.0, 0), (G1, "input", 3, 100.0, None, 1),
        (G1, "mlp_hidden", 0, 0.0, 40.0, 2), (G1, "mlp_hidden", 1, 40.0, 80.0, 0),
        (G1, "mlp_hidden", 2, 80.0, 100.0, 0), (G1, "mlp_hidden", 3, 100.0, None, 1),
    ], cols)
    df = run_query("distance-histogram", store=graph)  # 15 bins of 10 up to 150, + overflow
    assert len(df) == 4 * 16
    assert_rows(df[(df.kind == "input") & (df.edges > 0)], [
        (G1, "input", 0, 0.0, 10.0, 2), (G1, "input", 4, 40.0, 50.0, 1),
        (G1, "input", 15, 150.0, None, 1),
    ])
    df = run_query("distance-histogram", store=graph, graph=G0, bin_width=50, learned_only=False)
    assert_rows(df[df.kind == "qkv"], [
        (G0, "qkv", 0, 0.0, 50.0, 2), (G0, "qkv", 1, 50.0, 100.0, 0),
        (G0, "qkv", 2, 100.0, 150.0, 0), (G0, "qkv", 3, 150.0, None, 0),
    ])


def test_neuron_across_checkpoints(graph):
    cols = ["model", "index", "step", "graph", "out_strength", "in_strength", "out_degree",
            "in_degree", "nfd", "mass"]
    assert_rows(run_query("neuron-across-checkpoints", store=graph), [
        ("tiny", 0, 0, G0, 0.1, 1.0, 1, 1, None, 4),
        ("tiny", 0, 100, G1, 0.05, 2.0, 1, 1, None, 2),
        ("tiny", 2, 0, G0, 0.42, 0.05, 2, 1, 0.7, 11),
        ("tiny", 2, 100, G1, 0.81, 0.1, 2, 1, 2.1, 15),
    ], cols)
    assert_rows(run_query("neuron-across-checkpoints", store=graph, model="tiny", index=2), [
        ("tiny", 2, 0, G0, 0.42, 0.05, 2, 1, 0.7, 11),
        ("tiny", 2, 100, G1, 0.81, 0.1, 2, 1, 2.1, 15),
    ])
    assert_rows(run_query("neuron-across-checkpoints", store=graph, kind="qkv",
                          learned_only=False), [
        ("tiny", 1, 0, G0, 1.0, 0.26, 1, 2, 1.1, 12),
        ("tiny", 1, 100, G1, 1.0, 0.52, 1, 2, 2.5, 14),
        ("tiny", 5, 0, G0, 1.0, 0.502, 1, 2, None, 3),
        ("tiny", 5, 100, G1, 1.0, 0.254, 1, 2, 0.8, 11),
    ])
    assert_rows(run_query("neuron-across-checkpoints", store=graph, sample=1), [], cols)


def test_nfd_extremes(graph):
    cols = ["graph", "analysis", "rank", "kind", "block", "index", "nfd", "mass"]
    assert_rows(run_query("nfd-extremes", store=graph, limit=3), [
        (G0, qg.A0, 1, "context", 0, 1, 2.0, 15),
        (G0, qg.A0, 2, "mlp_hidden", 0, 7, 1.3, 13),
        (G0, qg.A0, 3, "qkv", 0, 1, 1.1, 12),
        (G1, qg.A1, 1, "qkv", 0, 1, 2.5, 14),
        (G1, qg.A1, 2, "attn_out", 0, 2, 2.1, 15),
        (G1, qg.A1, 3, "context", 0, 1, 1.9, 20),
    ], cols)
    assert_rows(run_query("nfd-extremes", store=graph, lowest=True, limit=2), [
        (G0, qg.A0, 1, "attn_out", 0, 2, 0.7, 11),
        (G0, qg.A0, 2, "input", 0, 0, 1.0, 11),
        (G1, qg.A1, 1, "qkv", 0, 5, 0.8, 11),
        (G1, qg.A1, 2, "mlp_hidden", 0, 12, 0.9, 11),
    ])
    # an older analysis named explicitly, and one graph only
    assert_rows(run_query("nfd-extremes", store=graph, analysis=qg.A1_SP), [
        (G1, qg.A1_SP, 1, "qkv", 0, 1, 6.0, 31),
        (G1, qg.A1_SP, 2, "input", 0, 0, 5.0, 30),
    ])
    assert_rows(run_query("nfd-extremes", store=graph, graph=G0, limit=1), [
        (G0, qg.A0, 1, "context", 0, 1, 2.0, 15),
    ])


def test_nfd_by_kind(graph):
    cols = ["graph", "analysis", "kind", "neurons", "eligible", "mean_nfd", "std_nfd", "min_nfd",
            "max_nfd"]
    assert_rows(run_query("nfd-by-kind", store=graph, graph=G1), [
        (G1, qg.A1, "attn_out", 2, 1, 2.1, None, 2.1, 2.1),
        (G1, qg.A1, "context", 1, 1, 1.9, None, 1.9, 1.9),
        (G1, qg.A1, "input", 2, 1, 1.5, None, 1.5, 1.5),
        (G1, qg.A1, "mlp_hidden", 2, 2, 1.05, math.sqrt(0.045), 0.9, 1.2),
        (G1, qg.A1, "output", 2, 0, None, None, None, None),
        (G1, qg.A1, "qkv", 2, 2, 1.65, math.sqrt(1.445), 0.8, 2.5),
    ], cols)
    assert_rows(run_query("nfd-by-kind", store=graph, model="tiny")[lambda d: d.graph == G0], [
        (G0, qg.A0, "attn_out", 2, 1, 0.7, None, 0.7, 0.7),
        (G0, qg.A0, "context", 1, 1, 2.0, None, 2.0, 2.0),
        (G0, qg.A0, "input", 2, 1, 1.0, None, 1.0, 1.0),
        (G0, qg.A0, "mlp_hidden", 2, 1, 1.3, None, 1.3, 1.3),
        (G0, qg.A0, "output", 2, 0, None, None, None, None),
        (G0, qg.A0, "qkv", 2, 1, 1.1, None, 1.1, 1.1),
    ])
    assert_rows(run_query("nfd-by-kind", store=graph, analysis=qg.A1_SP), [
        (G1, qg.A1_SP, "input", 1, 1, 5.0, None, 5.0, 5.0),
        (G1, qg.A1_SP, "qkv", 1, 1, 6.0, None, 6.0, 6.0),
    ])


def test_emergence(graph):
    cols = ["model", "step", "samples", "alpha0", "alpha0_std", "width", "width_std",
            "reference_step", "E"]
    # step 0: alpha0 2.0, 2.2 / width 0.5, 0.7; step 100 (passed filter): 1.6, 1.4 / 1.0, 1.4
    assert_rows(run_query("emergence", store=graph), [
        ("tiny", 0, 2, 2.1, math.sqrt(0.01), 0.6, math.sqrt(0.01), 0, 0.0),
        ("tiny", 100, 2, 1.5, math.sqrt(0.01), 1.2, math.sqrt(0.04), 0, 2 * math.log(2.1 / 1.5)),
    ], cols)
    # the failed-filter sample (alpha0 0.5, width 3.0) joins step 100
    assert_rows(run_query("emergence", store=graph, passed_only=False), [
        ("tiny", 0, 2, 2.1, math.sqrt(0.01), 0.6, math.sqrt(0.01), 0, 0.0),
        ("tiny", 100, 3, 3.5 / 3, math.sqrt(0.68666666666666667 / 3), 1.8, math.sqrt(2.24 / 3), 0,
         (1.8 / 0.6) * math.log(2.1 / (3.5 / 3))),
    ])
    assert_rows(run_query("emergence", store=graph, reference_step=100), [
        ("tiny", 0, 2, 2.1, math.sqrt(0.01), 0.6, math.sqrt(0.01), 100, 0.5 * math.log(1.5 / 2.1)),
        ("tiny", 100, 2, 1.5, math.sqrt(0.01), 1.2, math.sqrt(0.04), 100, 0.0),
    ])
    # only G1 has a shortest-path analysis (older than its one-hop one)
    assert_rows(run_query("emergence", store=graph, mode="shortest-path"), [
        ("tiny", 100, 1, 9.0, 0.0, 9.0, 0.0, 100, 0.0),  # one graph: std 0 (ddof 0), as api.emergence
    ])
    # a reference step without analyses: E undefined
    assert_rows(run_query("emergence", store=graph, reference_step=50), [
        ("tiny", 0, 2, 2.1, math.sqrt(0.01), 0.6, math.sqrt(0.01), None, None),
        ("tiny", 100, 2, 1.5, math.sqrt(0.01), 1.2, math.sqrt(0.04), None, None),
    ])
    assert_rows(run_query("emergence", store=graph, model="other"), [], cols)


def test_layer_weight_change(graph):
    cols = ["model", "step_from", "step_to", "edges_from", "edges_to", "mean_abs_w_from",
            "mean_abs_w_to", "change", "ratio"]
    assert_rows(run_query("layer-weight-change", store=graph), [
        ("other", 0, 0, 0, 0, None, None, None, None),
        ("tiny", 0, 100, 3, 3, 0.308 / 3, 0.605 / 3, 0.297 / 3, 0.605 / 0.308),
    ], cols)
    assert_rows(run_query("layer-weight-change", store=graph, model="tiny", kind="input",
                          step_from=0, step_to=100), [
        ("tiny", 0, 100, 4, 4, 0.1905, 0.1935, 0.003, 0.1935 / 0.1905),
    ])
    assert_rows(run_query("layer-weight-change", store=graph, model="tiny", step_from=100), [
        ("tiny", 100, 100, 3, 3, 0.605 / 3, 0.605 / 3, 0.0, 1.0),
    ])


def test_shortest_path(graph):
    cols = ["graph", "from_uid", "to_uid", "hops", "distance", "path"]
    a1, o0 = f"{G1}/3/0", f"{G1}/5/1"
    # attn_out 0 reaches output 1 only through mlp_hidden 7: d 20 + 5
    one = dict(from_kind="attn_out", from_index=0, to_kind="output", to_index=1)
    path = ["attn_out/0/0", "mlp_hidden/0/7", "output/0/1"]
    assert_rows(run_query("shortest-path", store=graph, **one), [(G1, a1, o0, 2, 25.0, path)], cols)
    assert_rows(run_query("shortest-path", store=graph, max_d=20, **one),
                [(G1, a1, o0, 2, 25.0, path)])
    assert_rows(run_query("shortest-path", store=graph, max_d=10, **one),
                [(G1, a1, o0, None, None, None)])
    # against the direction of the synapses there is no path
    assert_rows(run_query("shortest-path", store=graph, from_kind="output", to_kind="input",
                          to_block=0), [(G1, o0, f"{G1}/0/0", None, None, None)])
    # defaults: the first input neuron to the first output neuron, 5 synapses; four paths tie
    # on hops, so check the path is real and its distance is the sum along it
    df = run_query("shortest-path", store=graph)
    row = df.iloc[0]
    assert (row.graph, row.from_uid, row.to_uid, row.hops) == (G1, f"{G1}/0/0", o0, 5)
    d_of = {(a, b): d for a, b, d in run_cypher(
        "MATCH (a:Neuron {graph: $g})-[s:SYNAPSE]->(b) "
        "RETURN a.kind + '/0/' + toString(a.index) AS a, b.kind + '/0/' + toString(b.index) AS b, "
        "s.d AS d", {"g": G1}, store=graph).itertuples(index=False)}
    steps = list(zip(row.path, row.path[1:]))
    assert row.path[0] == "input/0/0" and row.path[-1] == "output/0/1"
    assert len(steps) == 5 and all(step in d_of for step in steps)
    assert row.distance == pytest.approx(sum(d_of[s] for s in steps))
    assert_rows(run_query("shortest-path", store=graph, graph="no-such-graph"), [], cols)


def test_band_census(graph):
    cols = ["graph", "kind", "edges", "structural", "below_band", "in_band", "beyond_band"]
    assert_rows(run_query("band-census", store=graph), [
        (G4, "input", 1, 0, 0, 1, 0),
        (G0, "attn_out", 3, 0, 0, 3, 0),
        (G0, "context", 2, 0, 1, 1, 0),
        (G0, "input", 4, 0, 0, 3, 1),
        (G0, "mlp_hidden", 3, 0, 0, 3, 0),
        (G0, "qkv", 2, 2, 0, 0, 0),
        (G1, "attn_out", 3, 0, 0, 3, 0),
        (G1, "context", 2, 0, 1, 1, 0),
        (G1, "input", 4, 0, 0, 3, 1),
        (G1, "mlp_hidden", 3, 0, 0, 2, 1),
        (G1, "qkv", 2, 2, 0, 0, 0),
    ], cols)
    assert_rows(run_query("band-census", store=graph, graph=G1, threshold=50), [
        (G1, "attn_out", 3, 0, 0, 2, 1),
        (G1, "context", 2, 0, 1, 1, 0),
        (G1, "input", 4, 0, 0, 3, 1),
        (G1, "mlp_hidden", 3, 0, 0, 2, 1),
        (G1, "qkv", 2, 2, 0, 0, 0),
    ])


def test_graphs_without_analysis(graph):
    cols = ["graph", "model", "step", "sample", "k", "nodes", "edges"]
    assert_rows(run_query("graphs-without-analysis", store=graph),
                [(G4, "other", 0, 0, 1, 2, 1)], cols)
    assert_rows(run_query("graphs-without-analysis", store=graph, mode="shortest-path"), [
        (G4, "other", 0, 0, 1, 2, 1),
        (G0, "tiny", 0, 0, 2, 11, 14),
        (qg.G3, "tiny", 0, 1, 2, 0, 0),
        (qg.G2, "tiny", 100, 1, 2, 0, 0),
        (qg.G5, "tiny", 100, 2, 2, 0, 0),
    ])
    assert_rows(run_query("graphs-without-analysis", store=graph, model="tiny"), [], cols)


def test_failed_jobs(graph):
    cols = ["job", "kind", "graph", "error", "worker", "created", "started", "finished"]
    j5 = ("j5", "analyze", qg.G3, "worker lost", "w3", "2024-03-03T00:00:00+00:00",
          "2024-03-03T00:00:01+00:00", None)
    j2 = ("j2", "analyze", G4, "DatabaseError: boom", "w2", "2024-03-02T00:00:00+00:00",
          "2024-03-02T00:00:01+00:00", "2024-03-02T00:05:00+00:00")
    j1 = ("j1", "analyze", qg.G2, "AnalysisError: no eligible node", "w1",
          "2024-03-01T00:00:00+00:00", "2024-03-01T00:00:01+00:00", "2024-03-01T00:01:00+00:00")
    assert_rows(run_query("failed-jobs", store=graph), [j5, j2, j1], cols)
    assert_rows(run_query("failed-jobs", store=graph, model="tiny"), [j5, j1])
    assert_rows(run_query("failed-jobs", store=graph, limit=1), [j5])


def test_model_summary(graph):
    cols = ["model", "arch", "hidden", "blocks", "params", "checkpoints", "first_step", "last_step",
            "graphs", "samples", "nodes", "edges", "analysed_graphs", "analyses", "jobs",
            "failed_jobs"]
    assert_rows(run_query("model-summary", store=graph), [
        ("other", "gpt2", 2, 1, 10, 1, 0, 0, 1, 1, 2, 1, 0, 0, 1, 1),
        ("tiny", "gpt_neox", 4, 1, 100, 2, 0, 100, 5, 3, 22, 28, 5, 6, 4, 2),
    ], cols)
    assert_rows(run_query("model-summary", store=graph, model="other"), [
        ("other", "gpt2", 2, 1, 10, 1, 0, 0, 1, 1, 2, 1, 0, 0, 1, 1),
    ])


def test_checkpoints(graph):
    cols = ["model", "step", "metrics", "graphs", "analysed_graphs"]
    assert_rows(run_query("checkpoints", store=graph), [
        ("other", 0, "{}", 1, 0),
        ("tiny", 0, '{"val_loss": 5.0}', 2, 2),
        ("tiny", 100, '{"val_loss": 3.0}', 3, 3),
    ], cols)


def test_graph_edges(graph):
    cols = ["graph", "src_kind", "src_block", "src_index", "dst_kind", "dst_block", "dst_index",
            "w", "d"]
    assert_rows(run_query("graph-edges", store=graph, limit=3), [
        (G1, "input", 0, 0, "qkv", 0, 1, 0.5, 2.0),
        (G1, "input", 0, 0, "qkv", 0, 5, -0.25, 4.0),
        (G1, "input", 0, 3, "qkv", 0, 1, 0.02, 50.0),
    ], cols)
    assert_rows(run_query("graph-edges", store=graph, graph=G4),
                [(G4, "input", 0, 0, "output", 0, 0, 0.5, 2.0)])
    assert len(run_query("graph-edges", store=graph, graph=G0)) == 14


def test_jobs_by_status(graph):
    cols = ["model", "status", "jobs", "first_created", "last_finished"]
    assert_rows(run_query("jobs-by-status", store=graph), [
        ("other", "failed", 1, "2024-03-02T00:00:00+00:00", "2024-03-02T00:05:00+00:00"),
        ("tiny", "done", 1, "2024-03-01T00:00:00+00:00", "2024-03-01T00:02:00+00:00"),
        ("tiny", "failed", 2, "2024-03-01T00:00:00+00:00", "2024-03-01T00:01:00+00:00"),
        ("tiny", "queued", 1, "2024-03-04T00:00:00+00:00", None),
    ], cols)


# -- user Cypher: read-only by default ---------------------------------------------------------

def _jobs(store: Store) -> list[tuple]:
    df = run_cypher("MATCH (j:Job) RETURN j.jid AS jid, j.status AS status ORDER BY jid",
                    store=store)
    return list(df.itertuples(index=False, name=None))


def _counts(store: Store) -> tuple[int, int, int]:
    nodes = run_cypher("MATCH (n) RETURN count(n) AS n", store=store).n[0]
    edges = run_cypher("MATCH ()-[r]->() RETURN count(r) AS n", store=store).n[0]
    return nodes, edges, len(store.schema()["indexes"])


@pytest.mark.parametrize("statement", [
    "MATCH (j:Job) SET j.status = 'queued' RETURN j.jid AS jid",
    "MATCH (n) DETACH DELETE n",
    "CREATE (:Job {jid: 'x', status: 'queued'})",
    "MERGE (j:Job {jid: 'j1'}) SET j.status = 'done'",
    "MATCH (j:Job) REMOVE j.status",
    "CREATE INDEX job_worker IF NOT EXISTS FOR (j:Job) ON (j.worker)",
    "UNWIND [1, 2] AS i CALL { WITH i CREATE (:Job {jid: toString(i)}) } IN TRANSACTIONS OF 1 ROWS",
])
def test_writes_are_refused_without_write(graph, statement):
    before_jobs, before_counts = _jobs(graph), _counts(graph)
    with pytest.raises(DatabaseError, match="refused: the statement writes") as err:
        run_cypher(statement, store=graph)
    assert "write=True" in err.value.hint and "--write" in error_lines(err.value)[1]
    assert _jobs(graph) == before_jobs
    assert _counts(graph) == before_counts


def test_the_counter_guard_rolls_back_and_refuses(graph):
    """Below the clause check, as root (no read-only user): a write that reaches ArcadeDB in
    a read transaction is rolled back and refused from the server's update counters. The
    message does not claim that nothing changed (ArcadeDB keeps new types after a rollback).
    On Neo4j the server's plan of the statement (EXPLAIN) refuses it before it runs, which the
    message says."""
    enforced = graph.enforces_read_sessions()
    before_jobs, before_counts = _jobs(graph), _counts(graph)
    for statement in ("MATCH (j:Job) SET j.status = 'queued' RETURN j.jid AS jid",
                      "CREATE (:Job {jid: 'sneaky'})",
                      "MATCH (n:Neuron) DETACH DELETE n"):
        expected = ("refused by the graph server's plan of the statement: the server "
                    "classifies it as a (read-)?write" if enforced
                    else "refused: the server reported updates")
        with pytest.raises(DatabaseError, match=expected) as err:
            read_only(graph, statement, {})
        assert enforced or "rolled back" in err.value.message
        assert ("not run, nothing was changed" in err.value.message) == enforced
    assert _jobs(graph) == before_jobs
    assert _counts(graph) == before_counts


def test_the_read_only_user_is_refused_by_the_server(graph):
    """The same writes as the read-only user, scanner bypassed: refused by the server
    (schema, create, delete: at once) or by the counter guard (SET: ArcadeDB checks a
    property update at commit, which a read never reaches; tests/security commits it).
    Neo4j Community has no such user: its READ sessions are what refuses."""
    reader = graph.reader()
    if graph.enforces_read_sessions():
        assert reader is graph and not reader.read_only
    else:
        assert reader is not graph and reader.read_only
    before_jobs, before_counts = _jobs(graph), _counts(graph)
    for statement in ("MATCH (j:Job) SET j.status = 'queued' RETURN j.jid AS jid",
                      "CREATE (:Job {jid: 'sneaky'})",
                      "CREATE (:BrandNewLabel {x: 1})",
                      "MATCH (n:Neuron) DETACH DELETE n"):
        with pytest.raises(DatabaseError, match="refused") as err:
            read_only(reader, statement, {})
        # Neo4j: refused from the server's plan, before running (tests/security commits them
        # in raw READ sessions, below this check)
        assert ("nothing was changed" in err.value.message) == graph.enforces_read_sessions()
    assert _jobs(graph) == before_jobs
    assert _counts(graph) == before_counts
    labels = run_cypher("CALL db.labels() YIELD label RETURN label", store=graph)
    assert "BrandNewLabel" not in set(labels.label)


def test_write_true_commits_and_reports_counters(graph):
    df = run_cypher("MATCH (j:Job {jid: $jid}) SET j.status = $status RETURN j.jid AS jid",
                    {"jid": "j4", "status": "cancelled"}, write=True, store=graph)
    assert list(df.jid) == ["j4"]
    assert df.attrs["counters"] == {"properties_set": 1}
    assert ("j4", "cancelled") in _jobs(graph)


def test_parameters_travel_as_bolt_parameters(graph):
    # a value that would break the statement if it were spliced into the text
    tricky = "x' OR 1=1 //"
    df = run_cypher("MATCH (g:Graph) WHERE g.gid = $gid RETURN g.gid AS gid", {"gid": tricky},
                    store=graph)
    assert df.empty
    df = run_cypher("RETURN $v AS v, $n + 1 AS n, $xs AS xs",
                    {"v": tricky, "n": 41, "xs": [1, 2]}, store=graph)
    assert (df["v"][0], df["n"][0], df["xs"][0]) == (tricky, 42, [1, 2])


def test_query_errors_carry_the_server_message_and_the_line(graph):
    with pytest.raises(DatabaseError) as err:
        run_cypher("MATCH (g:Graph)\nWHERE g.step = 1\nRETRUN g", store=graph)
    assert "RETRUN" in err.value.message and "line 3: RETRUN g" in err.value.message
    with pytest.raises(DatabaseError) as err:
        run_cypher("MATCH (g:Graph)\nRETURN nosuchfunction(g.step) AS x", store=graph)
    assert "nosuchfunction" in err.value.message
    assert "line 2: RETURN nosuchfunction(g.step) AS x" in err.value.message


def test_named_query_parameter_errors_never_reach_the_server(graph):
    with pytest.raises(ConfigError, match="no named query"):
        run_query("no-such-query", store=graph)
    with pytest.raises(ConfigError, match="'limit' \\(int\\)"):
        run_query("hub-neurons", store=graph, limit="many")
    with pytest.raises(ConfigError, match="no parameter 'colour'"):
        run_query("hub-neurons", store=graph, colour="red")
    with pytest.raises(ConfigError, match="not one of"):
        run_query("strongest-synapses", store=graph, kind="attention")


def test_store_none_opens_the_configured_database(graph, db_env, monkeypatch):
    for key in ("NEO4J_URI", "NEO4J_USERNAME", "NEO4J_PASSWORD", "NEO4J_DATABASE", "NEUROMFA_HOME"):
        monkeypatch.delenv(key, raising=False)
        if key in db_env:
            monkeypatch.setenv(key, db_env[key])
    df = run_query("checkpoints", model="tiny")
    assert list(df.step) == [0, 100]
    assert get_query("checkpoints").returns == tuple(df.columns)
