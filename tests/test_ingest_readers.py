"""Model readers: safetensors (single, sharded, bf16/fp16), PyTorch .bin (single, sharded),
GGUF (written here like llama.cpp does, Q/K permuted and quantised), missing and corrupt files."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import gguf
import numpy as np
import pytest
import torch
import transformers as tf
from safetensors.numpy import save_file

from neuromfa.base.errors import ModelError
from neuromfa.ingest.build import snin_for_checkpoint
from neuromfa.ingest.readers import open_model

FIXTURE = Path(__file__).parent / "fixtures" / "neox-h64-l2"
H = 64
LLAMA = dict(hidden_size=H, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, vocab_size=64, max_position_embeddings=32)


def llama(seed: int = 0):
    torch.manual_seed(seed)
    return tf.AutoModelForCausalLM.from_config(tf.LlamaConfig(**LLAMA))


def state(model) -> dict[str, np.ndarray]:
    return {k: v.detach().float().numpy() for k, v in model.state_dict().items()}


@pytest.fixture(scope="module")
def model():
    return llama()


@pytest.fixture(scope="module")
def single(model, tmp_path_factory):
    d = tmp_path_factory.mktemp("single")
    model.save_pretrained(d)
    return d


# -- safetensors -------------------------------------------------------------------------------


def test_safetensors_take_and_get(model, single):
    sd = state(model)
    name = "model.layers.1.self_attn.q_proj.weight"
    rows, cols = np.array([5, 0, 63, 5]), np.array([7, 7, 1])
    with open_model(single) as src:
        assert src.format == "safetensors"
        assert set(src.names()) == set(sd)
        assert src.shape(name) == (H, H)
        np.testing.assert_array_equal(src.get(name), sd[name])
        np.testing.assert_array_equal(src.take(name, rows, cols), sd[name][rows][:, cols])
        np.testing.assert_array_equal(src.take(name, rows=rows), sd[name][rows])
        np.testing.assert_array_equal(src.take(name, cols=cols), sd[name][:, cols])
        norm = "model.layers.0.input_layernorm.weight"
        np.testing.assert_array_equal(src.take(norm, rows=[3, 1]), sd[norm][[3, 1]])
        assert src.take(name, rows, cols).dtype == np.float32
        assert src.config["model_type"] == "llama"
        with pytest.raises(ModelError):
            src.take(name, rows=[H])
        with pytest.raises(ModelError) as err:
            src.take("model.layers.9.mlp.up_proj.weight")
        assert "model.layers.9.mlp.up_proj.weight" in str(err.value)


def test_sharded_safetensors(model, single, tmp_path):
    model.save_pretrained(tmp_path, max_shard_size="40KB")
    assert (tmp_path / "model.safetensors.index.json").is_file()
    assert len(list(tmp_path.glob("*.safetensors"))) > 2
    a, b = snin_for_checkpoint(single, sample=0, k=8), snin_for_checkpoint(tmp_path, sample=0, k=8)
    np.testing.assert_array_equal(a.w, b.w)
    np.testing.assert_array_equal(a.dst, b.dst)
    # shards without their index are read as one checkpoint too
    (tmp_path / "model.safetensors.index.json").unlink()
    np.testing.assert_array_equal(snin_for_checkpoint(tmp_path, sample=0, k=8).w, a.w)


def test_sharded_safetensors_missing_shard(model, tmp_path):
    model.save_pretrained(tmp_path, max_shard_size="40KB")
    shard = sorted(tmp_path.glob("*.safetensors"))[1]
    shard.unlink()
    with pytest.raises(ModelError) as err:
        open_model(tmp_path)
    assert shard.name in str(err.value)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_safetensors(tmp_path, dtype):
    model = llama().to(dtype)
    model.save_pretrained(tmp_path)
    name = "model.layers.0.mlp.down_proj.weight"
    ref = model.state_dict()[name].float().numpy()
    with open_model(tmp_path) as src:
        got = src.take(name, rows=[3, 9], cols=[0, 95, 40])
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, ref[[3, 9]][:, [0, 95, 40]])
        assert src.n_params() == model.num_parameters()


def test_take_reads_only_sampled_rows(tmp_path):
    """A 128 MB tensor: taking 64 rows must not bring the tensor into memory."""
    big = tmp_path / "big"
    big.mkdir()
    (big / "config.json").write_text(json.dumps({"model_type": "llama"}))
    save_file({"w": np.ones((8192, 4096), np.float32)}, str(big / "model.safetensors"))
    script = textwrap.dedent(
        f"""
        import numpy as np
        from neuromfa.ingest.readers import open_model
        peak = lambda: int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) // 1024
        src = open_model({str(big)!r})
        before = peak()
        rows = np.random.RandomState(0).choice(8192, 64, replace=False)
        part = src.take("w", rows=rows, cols=np.arange(0, 4096, 64))
        assert part.shape == (64, 64) and float(part.sum()) == 64 * 64
        after_take = peak() - before
        whole = src.get("w")  # control: reading the whole tensor does show up
        print(after_take, peak() - before)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    after_take, after_get = map(int, out.stdout.split())
    assert after_take < 16  # MB; the tensor is 128 MB
    assert after_get >= 128


# -- PyTorch .bin ------------------------------------------------------------------------------


def _bin_dir(model, d: Path, shards: int = 1) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / "config.json").write_text(model.config.to_json_string())
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if shards == 1:
        torch.save(sd, d / "pytorch_model.bin")
        return d
    names = list(sd)
    weight_map = {}
    for i in range(shards):
        part = names[i::shards]
        fname = f"pytorch_model-{i + 1:05d}-of-{shards:05d}.bin"
        torch.save({n: sd[n] for n in part}, d / fname)
        weight_map.update({n: fname for n in part})
    (d / "pytorch_model.bin.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    return d


@pytest.mark.parametrize("shards", [1, 3])
def test_pytorch_bin(model, single, tmp_path, shards):
    d = _bin_dir(model, tmp_path / "bin", shards)
    with open_model(d) as src:
        assert src.format == "pytorch"
        name = "model.layers.1.self_attn.k_proj.weight"
        np.testing.assert_array_equal(src.take(name, [4, 2], [1, 60]), state(model)[name][[4, 2]][:, [1, 60]])
        assert src.n_params() == model.num_parameters()
    a, b = snin_for_checkpoint(single, sample=2, k=8), snin_for_checkpoint(d, sample=2, k=8)
    np.testing.assert_array_equal(a.w, b.w)


def test_pytorch_bin_corrupt(model, tmp_path):
    d = _bin_dir(model, tmp_path / "bin")
    data = (d / "pytorch_model.bin").read_bytes()
    (d / "pytorch_model.bin").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError) as err:
        open_model(d)
    assert "pytorch_model.bin" in str(err.value)


# -- GGUF --------------------------------------------------------------------------------------


def _permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's convert_hf_to_gguf permutation of Q/K rows (the one transformers undoes)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def write_gguf(model, path: Path, qtype=gguf.GGMLQuantizationType.F32) -> Path:
    cfg, sd = model.config, state(model)
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_block_count(cfg.num_hidden_layers)
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_rope_dimension_count(cfg.hidden_size // cfg.num_attention_heads)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    w.add_vocab_size(cfg.vocab_size)

    def add(name, arr, quantise=True):
        if quantise and qtype != gguf.GGMLQuantizationType.F32 and arr.ndim == 2:
            w.add_tensor(name, gguf.quants.quantize(arr, qtype), raw_dtype=qtype)
        else:
            w.add_tensor(name, np.ascontiguousarray(arr, dtype=np.float32))

    add("token_embd.weight", sd["model.embed_tokens.weight"], quantise=False)
    add("output_norm.weight", sd["model.norm.weight"])
    add("output.weight", sd["lm_head.weight"])
    for b in range(cfg.num_hidden_layers):
        p = f"model.layers.{b}."
        add(f"blk.{b}.attn_norm.weight", sd[p + "input_layernorm.weight"])
        add(f"blk.{b}.ffn_norm.weight", sd[p + "post_attention_layernorm.weight"])
        add(f"blk.{b}.attn_q.weight", _permute(sd[p + "self_attn.q_proj.weight"], cfg.num_attention_heads))
        add(f"blk.{b}.attn_k.weight", _permute(sd[p + "self_attn.k_proj.weight"], cfg.num_key_value_heads))
        add(f"blk.{b}.attn_v.weight", sd[p + "self_attn.v_proj.weight"])
        add(f"blk.{b}.attn_output.weight", sd[p + "self_attn.o_proj.weight"])
        add(f"blk.{b}.ffn_gate.weight", sd[p + "mlp.gate_proj.weight"])
        add(f"blk.{b}.ffn_up.weight", sd[p + "mlp.up_proj.weight"])
        add(f"blk.{b}.ffn_down.weight", sd[p + "mlp.down_proj.weight"])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def test_gguf_f32_undoes_the_qk_permutation(model, single, tmp_path):
    path = write_gguf(model, tmp_path / "tiny.gguf")
    sd = state(model)
    with open_model(path) as src:
        assert src.format == "gguf"
        assert src.config["model_type"] == "llama"
        assert (src.config["hidden_size"], src.config["num_hidden_layers"], src.config["num_key_value_heads"]) == (H, 2, 2)
        for name in ("model.layers.0.self_attn.q_proj.weight", "model.layers.1.self_attn.k_proj.weight", "model.layers.1.mlp.down_proj.weight"):
            assert src.shape(name) == sd[name].shape
            np.testing.assert_array_equal(src.get(name), sd[name])
            np.testing.assert_array_equal(src.take(name, [9, 1, 9], [3, 0]), sd[name][[9, 1, 9]][:, [3, 0]])
        norm = "model.layers.1.post_attention_layernorm.weight"  # 1-D: processed whole
        assert src.shape(norm) == (H,)
        np.testing.assert_array_equal(src.take(norm, rows=[5, 2]), sd[norm][[5, 2]])
        assert src.n_params() == model.num_parameters()
    # the GGUF and the safetensors checkpoint give the same SNIN
    a, b = snin_for_checkpoint(single, sample=0, k=8), snin_for_checkpoint(path, sample=0, k=8)
    np.testing.assert_array_equal(a.w, b.w)
    np.testing.assert_array_equal(a.index, b.index)


@pytest.mark.parametrize("qtype", [gguf.GGMLQuantizationType.Q8_0, gguf.GGMLQuantizationType.Q4_1])
def test_gguf_quantised_rows_equal_transformers_full_load(model, tmp_path, qtype):
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

    path = write_gguf(model, tmp_path / "q.gguf", qtype)
    full = load_gguf_checkpoint(str(path), return_tensors=True, model_to_load=model)["tensors"]
    rows, cols = np.array([0, 17, 2, 40]), np.array([63, 0, 31])
    with open_model(path) as src:
        for name in ("model.layers.0.self_attn.q_proj.weight", "model.layers.1.self_attn.k_proj.weight", "model.layers.0.mlp.gate_proj.weight"):
            ref = full[name].float().numpy()
            np.testing.assert_array_equal(src.take(name, rows % ref.shape[0], cols), ref[rows % ref.shape[0]][:, cols])
            # and dequantisation stays close to the original weights
            np.testing.assert_allclose(src.get(name), state(model)[name], atol=0.02)


def write_gpt2_gguf(model, path: Path) -> Path:
    """GPT-2 as llama.cpp writes it: Conv1D weights stored transposed ([out, in])."""
    cfg, sd = model.config, state(model)
    w = gguf.GGUFWriter(str(path), "gpt2")
    w.add_block_count(cfg.n_layer)
    w.add_context_length(cfg.n_positions)
    w.add_embedding_length(cfg.n_embd)
    w.add_feed_forward_length(4 * cfg.n_embd)
    w.add_head_count(cfg.n_head)
    w.add_layer_norm_eps(cfg.layer_norm_epsilon)
    add = lambda name, arr: w.add_tensor(name, np.ascontiguousarray(arr, dtype=np.float32))  # noqa: E731
    add("token_embd.weight", sd["transformer.wte.weight"])
    add("position_embd.weight", sd["transformer.wpe.weight"])
    add("output_norm.weight", sd["transformer.ln_f.weight"])
    add("output_norm.bias", sd["transformer.ln_f.bias"])
    for b in range(cfg.n_layer):
        p = f"transformer.h.{b}."
        for gg, hf in (("attn_qkv", "attn.c_attn"), ("attn_output", "attn.c_proj"), ("ffn_up", "mlp.c_fc"), ("ffn_down", "mlp.c_proj")):
            add(f"blk.{b}.{gg}.weight", sd[p + hf + ".weight"].T)
            add(f"blk.{b}.{gg}.bias", sd[p + hf + ".bias"])
        for gg, hf in (("attn_norm", "ln_1"), ("ffn_norm", "ln_2")):
            add(f"blk.{b}.{gg}.weight", sd[p + hf + ".weight"])
            add(f"blk.{b}.{gg}.bias", sd[p + hf + ".bias"])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def test_gguf_gpt2_transposed(tmp_path):
    torch.manual_seed(1)
    model = tf.AutoModelForCausalLM.from_config(tf.GPT2Config(n_embd=H, n_layer=2, n_head=4, vocab_size=64, n_positions=32))
    model.save_pretrained(tmp_path / "st")
    path = write_gpt2_gguf(model, tmp_path / "gpt2.gguf")
    sd = state(model)
    with open_model(path) as src:
        name = "transformer.h.1.mlp.c_fc.weight"  # Conv1D [in, out] = [64, 256]
        assert src.shape(name) == (H, 4 * H)
        np.testing.assert_array_equal(src.take(name, [3, 60], [255, 0, 7]), sd[name][[3, 60]][:, [255, 0, 7]])
        np.testing.assert_array_equal(src.get(name), sd[name])
    a, b = snin_for_checkpoint(tmp_path / "st", sample=0, k=8), snin_for_checkpoint(path, sample=0, k=8)
    np.testing.assert_array_equal(a.w, b.w)


def test_gguf_in_directory(model, tmp_path):
    write_gguf(model, tmp_path / "a.gguf")
    with open_model(tmp_path) as src:
        assert src.format == "gguf"
    write_gguf(model, tmp_path / "b.gguf")
    with pytest.raises(ModelError) as err:
        open_model(tmp_path)
    assert "a.gguf" in str(err.value)


def test_gguf_corrupt(model, tmp_path):
    garbage = tmp_path / "garbage.gguf"
    garbage.write_bytes(b"not a gguf file at all" * 10)
    with pytest.raises(ModelError) as err:
        open_model(garbage)
    assert "garbage.gguf" in str(err.value)
    good = write_gguf(model, tmp_path / "good.gguf").read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(good[: len(good) // 2])
    with pytest.raises(ModelError) as err:
        open_model(cut)
    assert "cut.gguf" in str(err.value)


# -- missing and corrupt -----------------------------------------------------------------------


def test_missing_path(tmp_path):
    with pytest.raises(ModelError) as err:
        open_model(tmp_path / "nope")
    assert "nope" in str(err.value) and err.value.hint


def test_directory_without_weights(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(ModelError) as err:
        open_model(tmp_path)
    assert "no model weights" in str(err.value)


def test_weights_without_config(model, tmp_path):
    model.save_pretrained(tmp_path)
    (tmp_path / "config.json").unlink()
    with pytest.raises(ModelError) as err:
        open_model(tmp_path)
    assert "config.json" in str(err.value)


@pytest.mark.parametrize("content", ["{not json", json.dumps({"hidden_size": 3}), "[]"])
def test_bad_config(model, tmp_path, content):
    model.save_pretrained(tmp_path)
    (tmp_path / "config.json").write_text(content)
    with pytest.raises(ModelError) as err:
        open_model(tmp_path)
    assert "config.json" in str(err.value)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "header", "empty"])
def test_corrupt_safetensors(tmp_path, damage):
    d = tmp_path / "m"
    d.mkdir()
    for f in FIXTURE.iterdir():
        (d / f.name).write_bytes(f.read_bytes())
    st = d / "model.safetensors"
    data = st.read_bytes()
    if damage == "truncate":
        st.write_bytes(data[: len(data) - 1000])
    elif damage == "garbage":
        st.write_bytes(b"\x00" * 64)
    elif damage == "header":
        st.write_bytes(data[:8] + b"{" * 20 + data[28:])
    else:
        st.write_bytes(b"")
    with pytest.raises(ModelError) as err:
        open_model(d)
    assert "model.safetensors" in str(err.value)
    assert err.value.hint
