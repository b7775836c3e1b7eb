"""Reference-compatible SNIN draws (docs/method.md section 2)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from neuromfa.base.errors import ConfigError
from neuromfa.ingest.sampler import LayerSizes, draws_for_sample, sample_draws

FIXTURE = Path(__file__).parent / "fixtures" / "neox-h64-l2"
NEOX = LayerSizes(hidden=64, attn=64, mlp=256)


def expected_samples() -> list[dict]:
    return json.loads((FIXTURE / "expected_one_hop.json").read_text())["samples"]


@pytest.mark.parametrize("sample", [0, 1, 2])
def test_block0_draws_equal_reference(sample):
    ref = next(s for s in expected_samples() if s["sample"] == sample)["sampled_indices"]
    d = draws_for_sample(NEOX, 2, sample=sample, k=32)
    assert d.seed == sample
    assert d.input[0].tolist() == ref["block0_input"]
    assert d.qkv_t[0].tolist() == ref["block0_qkv_t"]
    assert d.attn_out[0].tolist() == ref["block0_attn_out"]
    assert d.mlp_hidden[0].tolist() == ref["block0_mlp_hidden"]


def test_draw_order_is_the_global_numpy_stream():
    """numpy.random.seed + numpy.random.choice, block by block, then the output layer."""
    sizes, blocks, k = LayerSizes(48, 40, 96), 3, 8
    np.random.seed(7)
    ref = []
    for _ in range(blocks):
        ref.append([np.random.choice(np.arange(n), size, replace=False) for n, size in ((48, k), (40, k), (48, k), (96, 2 * k))])
    ref_out = np.random.choice(np.arange(48), k, replace=False)
    d = sample_draws(sizes, blocks, k=k, seed=7)
    for b in range(blocks):
        got = [d.input[b], d.qkv_t[b], d.attn_out[b], d.mlp_hidden[b]]
        for g, r in zip(got, ref[b]):
            np.testing.assert_array_equal(g, r)
    np.testing.assert_array_equal(d.output, ref_out)
    # block b's mlp_out targets are block b+1's input draw; the last block's are the output draw
    np.testing.assert_array_equal(d.mlp_out(0), d.input[1])
    np.testing.assert_array_equal(d.mlp_out(blocks - 1), d.output)


def test_draws_without_replacement_and_in_range():
    d = sample_draws(LayerSizes(40, 40, 80), 2, k=40, seed=3)
    for b in range(2):
        assert sorted(d.input[b].tolist()) == list(range(40))
        assert len(set(d.mlp_hidden[b].tolist())) == 80
    assert d.input[0].dtype == np.int64


def test_seed_base_offsets_sample():
    a = draws_for_sample(NEOX, 2, sample=3, k=16, seed_base=100)
    b = sample_draws(NEOX, 2, k=16, seed=103)
    assert a.seed == 103 and a.sample == 3
    assert a.as_dict()["input"] == b.as_dict()["input"]
    assert json.loads(json.dumps(a.as_dict()))["output"] == a.output.tolist()


def test_same_draws_every_time():
    a = draws_for_sample(NEOX, 2, sample=5, k=32)
    b = draws_for_sample(NEOX, 2, sample=5, k=32)
    assert a.as_dict() == b.as_dict()
    assert draws_for_sample(NEOX, 2, sample=6, k=32).as_dict() != a.as_dict()


@pytest.mark.parametrize(
    "sizes, k, layer",
    [
        (LayerSizes(64, 64, 256), 65, "input"),
        (LayerSizes(64, 32, 256), 33, "qkv"),
        (LayerSizes(64, 64, 100), 51, "mlp_hidden"),
    ],
)
def test_k_too_large_names_the_layer(sizes, k, layer):
    with pytest.raises(ConfigError) as err:
        sample_draws(sizes, 2, k=k)
    assert repr(layer) in str(err.value)
    assert err.value.hint


@pytest.mark.parametrize("k", [0, -1, 2.5])
def test_k_must_be_positive_int(k):
    with pytest.raises(ConfigError):
        sample_draws(NEOX, 2, k=k)


def test_bad_seed_and_sample():
    with pytest.raises(ConfigError):
        sample_draws(NEOX, 2, k=4, seed=2**32)
    with pytest.raises(ConfigError):
        draws_for_sample(NEOX, 2, sample=-1, k=4)
