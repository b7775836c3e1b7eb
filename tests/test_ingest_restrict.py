"""ingest --blocks / --kinds: the sub-SNIN of the full sample, its own graph ids, checked bounds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neuromfa.base.errors import ConfigError
from neuromfa.ingest.build import snin_for_checkpoint
from neuromfa.ingest.pipeline import ingest_path
from neuromfa.ingest.scope import LayerScope, make_scope, scope_of_gid
from neuromfa.schema.layers import KIND_CODE, KINDS
from neuromfa.schema.records import graph_id
from neuromfa.store.graphs import GraphRepository

FIXTURE = Path(__file__).parent / "fixtures" / "neox-h64-l2"  # 2 blocks


def edge_keys(s):
    return sorted(zip(s.layer[s.src], s.index[s.src], s.layer[s.dst], s.index[s.dst], s.w))


def test_block_restriction_is_the_induced_sub_network_with_the_stream_it_writes():
    full = snin_for_checkpoint(FIXTURE, sample=0, k=8)
    sub = LayerScope(blocks=(0, 0)).apply(full)
    kept = (full.block == 0) | ((full.block == 1) & (full.kind == KIND_CODE["input"]))
    assert sub.n_nodes == int(kept.sum()) and set(sub.block.tolist()) == {0, 1}
    inside = kept[full.src] & kept[full.dst]
    assert 0 < sub.n_edges == int(inside.sum()) < full.n_edges
    # same neurons, same weights: a subset of the full graph's edges, the down projection kept
    assert edge_keys(sub) == sorted(k for k, i in zip(zip(full.layer[full.src], full.index[full.src],
                                                           full.layer[full.dst], full.index[full.dst], full.w), inside) if i)
    down = (sub.kind[sub.src] == KIND_CODE["mlp_hidden"]) & (sub.kind[sub.dst] == KIND_CODE["input"])
    assert down.any()
    last = LayerScope(blocks=(1, 1)).apply(full)
    assert KIND_CODE["output"] in set(last.kind.tolist()) and 0 not in set(last.block.tolist())


def test_kind_restriction_drops_edges_to_dropped_kinds():
    full = snin_for_checkpoint(FIXTURE, sample=0, k=8)
    sub = make_scope(None, "mlp_hidden,attn_out").apply(full)
    assert set(sub.kind.tolist()) == {KIND_CODE["attn_out"], KIND_CODE["mlp_hidden"]}
    assert (sub.kind[sub.src] == KIND_CODE["attn_out"]).all() and (sub.kind[sub.dst] == KIND_CODE["mlp_hidden"]).all()
    full_pairs = (full.kind[full.src] == KIND_CODE["attn_out"]) & (full.kind[full.dst] == KIND_CODE["mlp_hidden"])
    assert sub.n_edges == int(full_pairs.sum())


def test_parse_errors_are_config_errors():
    assert make_scope("0-1", "attn_out,mlp_hidden").suffix == "/b0-1/kattn_out+mlp_hidden"
    assert make_scope("3", None).blocks == (3, 3) and make_scope().full
    for blocks, kinds in (("5-2", None), ("a-b", None), (None, "attn,mlp"), (None, ",")):
        with pytest.raises(ConfigError):
            make_scope(blocks, kinds)
    with pytest.raises(ConfigError, match="exceeds the model's 2 blocks"):
        make_scope("0-2").check_model(2)
    assert set(KINDS) >= set(make_scope(None, ",".join(KINDS)).kinds or ())


def test_ingest_restricted_graphs_have_their_own_ids_and_never_mix(store):
    scope = make_scope("1-1", "attn_out,mlp_hidden,output")
    report = ingest_path(store, FIXTURE, name="fx", samples=1, k=8, scope=scope, baselines=False)
    gid = graph_id("fx", 0, 0, 8) + scope.suffix
    assert report.graphs_written == 1 and scope_of_gid(gid) == scope.suffix
    pulled = GraphRepository(store).pull(gid)
    assert edge_keys(pulled) == edge_keys(scope.apply(snin_for_checkpoint(FIXTURE, sample=0, k=8)))
    assert set(pulled.block.tolist()) == {1}
    with pytest.raises(ConfigError, match="layer restriction"):
        ingest_path(store, FIXTURE, name="fx", samples=1, k=8, baselines=False)  # the full graph: refused
    with pytest.raises(ConfigError, match="exceeds"):
        ingest_path(store, FIXTURE, name="fy", samples=1, k=8, scope=make_scope("0-2"), baselines=False)
    assert not GraphRepository(store).list_graphs("fy")
    again = ingest_path(store, FIXTURE, name="fx", samples=1, k=8, scope=scope, baselines=False)
    assert again.graphs_present == 1 and again.graphs_written == 0
    assert np.isin(pulled.kind, [KIND_CODE[k] for k in scope.kinds or ()]).all()


def test_a_restriction_leaving_no_synapse_is_refused(store):
    # GPT-NeoX is parallel-residual: in the faithful topology its MLP reads the block input, so
    # no matrix joins attn_out and mlp_hidden
    with pytest.raises(ConfigError, match="leaves no synapse"):
        ingest_path(store, FIXTURE, name="fz", samples=1, k=8, topology="faithful", baselines=False,
                    scope=make_scope(None, "attn_out,mlp_hidden"))
    assert not GraphRepository(store).list_graphs("fz")
