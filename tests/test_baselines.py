"""Weight-scale baselines: the pure functions against numpy, the ingest step against the
checkpoint's own tensors, and their storage on the Checkpoint (real server)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from model_builders import save, tiny_model

from neuromfa.analysis.baselines import matrix_baseline, spectral_norm, summarize
from neuromfa.base.errors import ModelError
from neuromfa.ingest.adapters import adapter_for
from neuromfa.ingest.baselines import checkpoint_baselines, matrices_of
from neuromfa.ingest.pipeline import ingest_path
from neuromfa.ingest.readers import open_model
from neuromfa.store.models import ModelRepository

FIXTURE = Path(__file__).parent / "fixtures" / "neox-h64-l2"

SHAPES = [(7, 5), (5, 7), (48, 48), (64, 192), (1, 9), (9, 1)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matrix_baseline_matches_numpy(shape, dtype):
    w = np.random.default_rng(sum(shape)).standard_normal(shape).astype(dtype) * 0.02
    b = matrix_baseline(w, "w")
    w64 = w.astype(np.float64)
    assert b.shape == list(shape)
    assert b.rms == pytest.approx(np.sqrt(np.mean(w64**2)), rel=1e-12)
    assert b.log_norm == pytest.approx(np.log10(np.linalg.norm(w64, "fro")), abs=1e-12)
    assert b.converged
    assert b.log_spectral_norm == pytest.approx(np.log10(np.linalg.svd(w64, compute_uv=False)[0]), abs=1e-6)


@pytest.mark.parametrize("n", [20, 300])  # a small Gram matrix solved exactly; a larger one by Lanczos
def test_spectral_norm_of_a_known_spectrum_and_its_bounds(n):
    rng = np.random.default_rng(3)
    u, _ = np.linalg.qr(rng.standard_normal((n + 10, n)))
    v, _ = np.linalg.qr(rng.standard_normal((n, n)))
    s = np.linspace(5.0, 1.0, n)
    w = u @ np.diag(s) @ v.T
    sigma, iterations, converged = spectral_norm(w)
    assert converged and sigma == pytest.approx(5.0, rel=1e-8)
    assert (iterations == 0) == (n <= 128)
    assert spectral_norm(w.T) == pytest.approx((sigma, iterations, converged))  # the smaller side either way
    assert spectral_norm(w) == (sigma, iterations, converged)  # fixed seed: the same run


def test_spectral_norm_that_runs_out_of_iterations_says_so():
    w = np.random.default_rng(4).standard_normal((600, 500)).astype(np.float32)  # a tight top of the spectrum
    low, products, ok = spectral_norm(w, tol=1e-15, max_iter=1)
    assert not ok and products > 0  # then solved exactly
    assert low == pytest.approx(np.linalg.svd(w.astype(np.float64), compute_uv=False)[0], rel=1e-9)


def test_zero_and_non_finite_matrices():
    zero = matrix_baseline(np.zeros((4, 3)), "z")
    assert (zero.rms, zero.log_norm, zero.log_spectral_norm) == (0.0, None, None)
    with pytest.raises(ValueError, match="NaN or inf"):
        matrix_baseline(np.array([[1.0, np.nan]]), "n")


def test_summaries_are_means_over_matrices_with_a_norm():
    a, b = matrix_baseline(np.full((2, 2), 0.1), "a"), matrix_baseline(np.full((3, 3), 10.0), "b")
    s = summarize([a, b, matrix_baseline(np.zeros((2, 2)), "z")])
    assert s.log_rms == pytest.approx((-1 + 1) / 2)
    assert s.log_norm == pytest.approx((math.log10(0.2) + math.log10(30.0)) / 2)
    assert s.log_spectral_norm == pytest.approx((math.log10(0.2) + math.log10(30.0)) / 2)
    assert len(s.matrices) == 3


def _state(model) -> dict[str, np.ndarray]:
    return {k: v.detach().double().numpy() for k, v in model.state_dict().items()}


def test_llama_checkpoint_baselines_are_its_own_matrices(tmp_path):
    model = tiny_model("llama", seed=2)
    path = save(model, tmp_path / "llama")
    state = _state(model)
    with open_model(path) as source:
        adapter = adapter_for(source)
        got = checkpoint_baselines(source, adapter)
    names = [m.name for m in got.matrices]
    assert len(names) == 2 * 7 and all(m.part is None for m in got.matrices)
    for m in got.matrices:
        w = state[m.name]
        assert m.shape == list(w.shape)
        assert m.log_spectral_norm == pytest.approx(np.log10(np.linalg.svd(w, compute_uv=False)[0]), abs=1e-5)
    expected = np.mean([np.log10(np.sqrt(np.mean(state[n] ** 2))) for n in names])
    assert got.log_rms == pytest.approx(expected, abs=1e-6)


def test_fused_qkv_counts_as_three_parts_covering_the_tensor(tmp_path):
    model = tiny_model("gpt_neox", seed=1)
    path = save(model, tmp_path / "neox")
    state = _state(model)
    with open_model(path) as source:
        adapter = adapter_for(source)
        got = checkpoint_baselines(source, adapter)
        refs = matrices_of(adapter)
    assert len(refs) == 2 * 4
    qkv = [m for m in got.matrices if "query_key_value" in m.name]
    assert [m.part for m in qkv] == ["q", "k", "v"] * 2
    for b in range(2):
        w = state[f"gpt_neox.layers.{b}.attention.query_key_value.weight"]
        parts = qkv[3 * b : 3 * b + 3]
        # the parts partition the fused rows: their squared norms add up to the tensor's
        assert sum(10 ** (2 * p.log_norm) for p in parts) == pytest.approx(np.sum(w**2), rel=1e-6)
        assert all(p.shape == [48, 48] for p in parts)


def test_gpt2_conv1d_is_read_out_by_in(tmp_path):
    model = tiny_model("gpt2", seed=0)
    path = save(model, tmp_path / "gpt2")
    with open_model(path) as source:
        got = checkpoint_baselines(source, adapter_for(source))
    by = {(m.name.split(".")[-2], m.part): m for m in got.matrices if ".h.0." in m.name or m.name.startswith("h.0.")}
    assert by[("c_fc", None)].shape == [4 * 48, 48]  # Conv1D stores [in, out]; read as [out, in]
    assert by[("c_attn", "q")].shape == [48, 48]


def test_nan_anywhere_in_a_matrix_is_one_model_error(tmp_path):
    model = tiny_model("llama", seed=0)
    with torch.no_grad():
        model.model.layers[1].mlp.down_proj.weight[3, 5] = float("nan")
    path = save(model, tmp_path / "nan")
    with open_model(path) as source, pytest.raises(ModelError, match="down_proj.*NaN or inf"):
        checkpoint_baselines(source, adapter_for(source))


def test_ingest_stores_baselines_and_fills_them_in_on_a_re_ingest(store, tmp_path):
    model = tiny_model("llama", seed=4)
    run = tmp_path / "run"
    save(model, run / "step0")
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(2.0)
    save(model, run / "step10")
    report = ingest_path(store, run, name="bl", samples=1, k=4)
    assert report.baselines_written == 2
    rows = store.read("MATCH (c:Checkpoint {model: 'bl'}) RETURN c.step AS step, c.log_rms AS log_rms, "
                      "c.log_norm AS log_norm, c.log_spectral_norm AS log_spectral_norm ORDER BY step")
    assert [r["step"] for r in rows] == [0, 10]
    for key in ("log_rms", "log_norm", "log_spectral_norm"):  # every matrix x 2: + log10 2
        assert rows[1][key] - rows[0][key] == pytest.approx(math.log10(2.0), abs=1e-6)
    repo = ModelRepository(store)
    matrices = repo.baseline_matrices("bl", 10)
    assert matrices is not None and len(matrices) == 14
    # a database from before baselines: the properties are missing; a re-ingest fills them in
    store.write("MATCH (c:Checkpoint {model: 'bl', step: 10}) REMOVE c.log_rms, c.log_norm, "
                "c.log_spectral_norm, c.baseline_matrices")
    before = {b.step: b for b in repo.baselines("bl")}
    assert before[10].log_rms is None and not before[10].has_baselines and before[0].has_baselines
    again = ingest_path(store, run, name="bl", samples=1, k=4)
    assert (again.graphs_written, again.baselines_written) == (0, 1)
    after = {b.step: b for b in repo.baselines("bl")}
    assert after[10].log_rms == pytest.approx(rows[1]["log_rms"], abs=1e-12)
    assert ingest_path(store, run, name="bl", samples=1, k=4).baselines_written == 0  # nothing left to fill


def test_ingest_without_baselines_stores_none(store, tmp_path):
    path = save(tiny_model("llama", seed=5), tmp_path / "m")
    report = ingest_path(store, path, name="nobl", samples=1, k=4, baselines=False)
    assert report.baselines_written == 0 and report.seconds_baselines == 0.0
    (b,) = ModelRepository(store).baselines("nobl")
    assert b.log_rms is None and not b.has_baselines


def test_peers_are_weightwatchers_own_summary(store):
    """WeightWatcher (the peers extra, in the test extra) on the fixture folder: its log_norm is
    the mean over its layers (every 2-D tensor here, embeddings included) of log10 ||W||_F^2."""
    from safetensors.numpy import load_file

    report = ingest_path(store, FIXTURE, name="ww", samples=1, k=8, peers=True)
    assert (report.peers_written, report.baselines_written) == (1, 1)
    (b,) = ModelRepository(store).baselines("ww")
    tensors = [w.astype(np.float64) for w in load_file(FIXTURE / "model.safetensors").values() if w.ndim == 2]
    assert b.has_peers and b.ww_log_norm == pytest.approx(np.mean([np.log10(np.sum(w**2)) for w in tensors]), abs=1e-9)
    assert b.ww_alpha is not None and b.ww_alpha > 1 and b.ww_alpha_weighted is not None
    layers = store.read("MATCH (c:Checkpoint {model: 'ww'}) RETURN c.ww_layers AS n")[0]["n"]
    assert layers == len(tensors) == 10
    assert ingest_path(store, FIXTURE, name="ww", samples=1, k=8, peers=True).peers_written == 0  # stored once


# -- the repository's statements (recording store, no server) --------------------------------
def test_repository_statements_for_baselines_and_peers():
    from recording_store import Call, RecordingStore

    from neuromfa.schema.records import PeerMetrics

    rec = RecordingStore()
    summary = summarize([matrix_baseline(np.full((2, 3), 0.5), "w")])
    rec.queue("checkpoint_set_baselines", [{"step": 4}], [])
    repo = ModelRepository(rec)
    assert repo.set_baselines("m", 4, summary) is True and repo.set_baselines("m", 5, summary) is False
    name, params, tx = rec.calls[0]
    assert (name, tx) == ("checkpoint_set_baselines", None)
    assert params["log_rms"] == pytest.approx(math.log10(0.5)) and params["step"] == 4
    assert json.loads(params["matrices"])[0]["shape"] == [2, 3]  # the detail travels as one JSON string
    peers = PeerMetrics(ww_alpha=3.0, ww_alpha_weighted=-1.0, ww_log_norm=0.5, ww_layers=4, ww_version="0.7.7")
    rec.queue("checkpoint_set_peers", [{"step": 4}])
    assert repo.set_peers("m", 4, peers)
    assert rec.calls[-1] == Call("checkpoint_set_peers", {"model": "m", "step": 4, **peers.model_dump()})
    rec.queue("checkpoint_baselines", [{"step": 4, "log_rms": -1.0, "log_norm": None, "log_spectral_norm": None,
                                        "ww_alpha": None, "ww_alpha_weighted": None, "ww_log_norm": None,
                                        "has_baselines": True, "has_peers": False}])
    (b,) = repo.baselines("m")
    assert (b.step, b.log_rms, b.has_baselines, b.has_peers) == (4, -1.0, True, False)
    rec.queue("checkpoint_baseline_matrices", [{"matrices": params["matrices"]}], [{"matrices": None}], [])
    assert repo.baseline_matrices("m", 4) == summary.matrices
    assert repo.baseline_matrices("m", 4) is None and repo.baseline_matrices("m", 9) is None
