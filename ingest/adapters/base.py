"""Architecture adapters: each family's weight matrices mapped onto the shared chain of layer
kinds (schema/layers.py) input -> qkv -> context -> attn_out -> mlp_hidden -> next input.

An adapter resolves tensor names and layer sizes once (from the tensor shapes, cross-checked
with the config) and then returns, for sampled neuron indices, dense weight blocks
``M[out, in]`` (float64) with ``w(in a -> out b) = M[b, a]``. PyTorch Linear stores
``W[out, in]``, so ``M = W[out_idx][:, in_idx]``; GPT-2's Conv1D stores ``W[in, out]`` and is
transposed. Biases, norms and embeddings are never edges.

The qkv layer has 3k nodes per sample: for each sampled query index t the rows (t, t+A, t+2A)
of the logical [Q; K; V] matrix, A the query width (= hidden in most models).

Grouped-query attention (Llama family): K and V have fewer rows than Q. We read the model as
attention computes it, with each KV head repeated for the query heads it serves
(transformers' ``repeat_kv``): the K and V nodes of query index t are the K/V rows of the KV
head that serves t's query head, at t's offset within the head,
``kv_row(t) = ((t // head_dim) // (n_heads // n_kv_heads)) * head_dim + t % head_dim``.
Their node indices stay t + A and t + 2A (rows of the repeated [Q; K_rep; V_rep] matrix), so
indices are unique per node and mean the same as in the MHA case; two sampled t served by the
same KV row get distinct nodes with identical incoming weights. With n_kv_heads = n_heads this
is exactly the real K/V row t.
Gated MLP (Llama family): mlp_hidden is the concatenation [gate; up] of 2 * intermediate rows;
down_proj [hidden, intermediate] reads hidden node j through its column j mod intermediate.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from neuromfa.base.errors import ModelError
from neuromfa.ingest.sampler import LayerSizes
from neuromfa.ingest.source import Index, ModelConfig, TensorSource
from neuromfa.schema.layers import PART_CODE


@dataclass(frozen=True)
class ModelFacts:
    """What the Model record needs: arch (config model_type), hidden, blocks, params."""

    arch: str
    family: str
    hidden: int
    blocks: int
    params: int
    sizes: LayerSizes

    def as_dict(self) -> dict[str, Any]:
        return {
            "arch": self.arch,
            "family": self.family,
            "hidden": self.hidden,
            "blocks": self.blocks,
            "params": self.params,
            "attn": self.sizes.attn,
            "mlp": self.sizes.mlp,
        }


def _cfg(config: ModelConfig, *keys: str, default: Any = None) -> Any:
    for k in keys:
        if config.get(k) is not None:
            return config[k]
    return default


class Adapter(ABC):
    """Base: tensor-name resolution and the checked weight-block read."""

    family: ClassVar[str]
    model_types: ClassVar[tuple[str, ...]]
    # role -> tensor name inside the model, "{b}" is the block number
    templates: ClassVar[dict[str, str]]
    layer_count_keys: ClassVar[tuple[str, ...]] = ("num_hidden_layers", "n_layer")
    hidden_keys: ClassVar[tuple[str, ...]] = ("hidden_size", "n_embd", "d_model")

    def __init__(self, source: TensorSource):
        self.model_type = source.config["model_type"]
        self.where = str(source.path)
        self.prefix = self._find_prefix(source)
        self.blocks = self._count_blocks(source)
        for b in range(self.blocks):
            for role in self.templates:
                source.require(self.name(role, b))
        sizes, hidden = self._sizes(source)
        self.facts = ModelFacts(self.model_type, self.family, hidden, self.blocks, source.n_params(), sizes)
        self.warnings: list[str] = self._config_disagreements(source.config, hidden)

    def _config_disagreements(self, config: ModelConfig, hidden: int) -> list[str]:
        """One line per config size the tensor shapes contradict (the shapes are what is read)."""
        key = next((k for k in self.hidden_keys if config.get(k) is not None), None)
        if key is None or config[key] == hidden:
            return []
        return [f"the config says {key} = {config[key]} but the weight tensors have hidden size "
                f"{hidden}; the tensor shapes are used"]

    # -- names ---------------------------------------------------------------------------
    def name(self, role: str, block: int) -> str:
        return self.prefix + self.templates[role].format(b=block)

    def _find_prefix(self, source: TensorSource) -> str:
        first = next(iter(self.templates.values())).format(b=0)
        prefixes = [n[: -len(first)] for n in source.names() if n == first or n.endswith("." + first)]
        if not prefixes:
            raise ModelError(
                f"{self.where} has no tensor named like '*{first}' although its config says {self.model_type!r}",
                hint="the weights do not match the config; check that the checkpoint is complete",
            )
        return min(prefixes, key=len)

    def _count_blocks(self, source: TensorSource) -> int:
        names = set(source.names())
        first = next(iter(self.templates))
        blocks = 0
        while self.name(first, blocks) in names:
            blocks += 1
        expected = _cfg(source.config, *self.layer_count_keys)
        if expected is not None and int(expected) != blocks:
            raise ModelError(
                f"{self.where}: config declares {expected} layers but the weights hold {blocks}",
                hint="the checkpoint is incomplete (a missing shard?) or its config belongs to another model",
            )
        return blocks

    def _shapes(self, source: TensorSource, expected: dict[str, tuple[int, ...]]) -> None:
        """Every block must have the same, consistent weight shapes."""
        for b in range(self.blocks):
            for role, shape in expected.items():
                got = tuple(source.shape(self.name(role, b)))
                if got != shape:
                    raise ModelError(
                        f"tensor {self.name(role, b)!r} in {self.where} has shape {got}, expected {shape}",
                        hint="the checkpoint does not match its architecture or is corrupt",
                    )

    @abstractmethod
    def _sizes(self, source: TensorSource) -> tuple[LayerSizes, int]:
        """(layer sizes, hidden size), checking the shapes of every block."""

    # -- weights ---------------------------------------------------------------------------
    def _linear(self, source: TensorSource, role: str, block: int, out_idx: Index, in_idx: Index, *, conv1d: bool = False) -> np.ndarray:
        """``M[out, in]`` float64 for a Linear (``W[out, in]``) or Conv1D (``W[in, out]``)."""
        name = self.name(role, block)
        if conv1d:
            m = source.take(name, rows=in_idx, cols=out_idx).T
        else:
            m = source.take(name, rows=out_idx, cols=in_idx)
        m = np.asarray(m, dtype=np.float64)
        if not np.isfinite(m).all():
            raise ModelError(
                f"tensor {name!r} in {self.where} holds NaN or inf weights",
                hint="the checkpoint diverged or is corrupt; ingest another checkpoint",
            )
        return m

    @abstractmethod
    def input_qkv(self, source: TensorSource, block: int, inp: np.ndarray, t: np.ndarray) -> np.ndarray:
        """(3k, k_in): rows Q t, K t, V t (in that order); columns the input draw."""

    @abstractmethod
    def context_attn_out(self, source: TensorSource, block: int, t: np.ndarray, out: np.ndarray) -> np.ndarray:
        """(k_out, k): attention output projection, context t -> attn_out."""

    @abstractmethod
    def attn_out_mlp(self, source: TensorSource, block: int, a: np.ndarray, hid: np.ndarray) -> np.ndarray:
        """(2k, k): attn_out -> mlp_hidden."""

    @abstractmethod
    def mlp_down(self, source: TensorSource, block: int, hid: np.ndarray, out: np.ndarray) -> np.ndarray:
        """(k, 2k): mlp_hidden -> next block's input (or the output layer)."""

    def hidden_parts(self, hid: np.ndarray) -> np.ndarray:
        """Weight part (a PARTS code) feeding each MLP hidden row: one whole matrix by default."""
        return np.zeros(len(hid), dtype=np.int8)


class FusedQKVAdapter(Adapter):
    """One fused [Q; K; V] projection (roles qkv, dense, up, down). ``conv1d``: weights are
    stored [in, out] (GPT-2's Conv1D) instead of PyTorch's [out, in]."""

    conv1d: ClassVar[bool] = False

    def _sizes(self, source: TensorSource) -> tuple[LayerSizes, int]:
        shape = source.shape(self.name("qkv", 0))
        three_a, h = shape[::-1] if self.conv1d else shape
        if three_a % 3:
            raise ModelError(f"tensor {self.name('qkv', 0)!r} has a fused q/k/v dimension of {three_a}, not a multiple of 3")
        a, m = three_a // 3, source.shape(self.name("up", 0))[1 if self.conv1d else 0]
        expected = {"qkv": (3 * a, h), "dense": (h, a), "up": (m, h), "down": (h, m)}
        self._shapes(source, {k: v[::-1] if self.conv1d else v for k, v in expected.items()})
        return LayerSizes(h, a, m), h

    def input_qkv(self, source: TensorSource, block: int, inp: np.ndarray, t: np.ndarray) -> np.ndarray:
        a = self.facts.sizes.attn
        return self._linear(source, "qkv", block, np.concatenate([t, t + a, t + 2 * a]), inp, conv1d=self.conv1d)

    def context_attn_out(self, source: TensorSource, block: int, t: np.ndarray, out: np.ndarray) -> np.ndarray:
        return self._linear(source, "dense", block, out, t, conv1d=self.conv1d)

    def attn_out_mlp(self, source: TensorSource, block: int, a: np.ndarray, hid: np.ndarray) -> np.ndarray:
        return self._linear(source, "up", block, hid, a, conv1d=self.conv1d)

    def mlp_down(self, source: TensorSource, block: int, hid: np.ndarray, out: np.ndarray) -> np.ndarray:
        return self._linear(source, "down", block, out, hid, conv1d=self.conv1d)


class GPTNeoXAdapter(FusedQKVAdapter):
    """GPT-NeoX / Pythia, the reference topology: query_key_value [3h, h] read as [Q; K; V]."""

    family = "gpt_neox"
    model_types = ("gpt_neox",)
    templates = {
        "qkv": "layers.{b}.attention.query_key_value.weight",
        "dense": "layers.{b}.attention.dense.weight",
        "up": "layers.{b}.mlp.dense_h_to_4h.weight",
        "down": "layers.{b}.mlp.dense_4h_to_h.weight",
    }


class LlamaAdapter(Adapter):
    """Llama, Mistral, Qwen2/3, SmolLM: q/k/v/o_proj with grouped KV heads, gate/up/down_proj."""

    family = "llama"
    model_types = ("llama", "mistral", "qwen2", "qwen3")
    templates = {
        "q": "layers.{b}.self_attn.q_proj.weight",
        "k": "layers.{b}.self_attn.k_proj.weight",
        "v": "layers.{b}.self_attn.v_proj.weight",
        "o": "layers.{b}.self_attn.o_proj.weight",
        "gate": "layers.{b}.mlp.gate_proj.weight",
        "up": "layers.{b}.mlp.up_proj.weight",
        "down": "layers.{b}.mlp.down_proj.weight",
    }
    head_dim: int
    group: int  # query heads per KV head
    intermediate: int

    def _sizes(self, source: TensorSource) -> tuple[LayerSizes, int]:
        a, h = source.shape(self.name("q", 0))
        kv = source.shape(self.name("k", 0))[0]
        inter = source.shape(self.name("gate", 0))[0]
        heads = _cfg(source.config, "num_attention_heads")
        if not heads or a % heads:
            raise ModelError(
                f"{self.where}: num_attention_heads = {heads} does not divide the query width {a}",
                hint="restore the model's config.json",
            )
        self.head_dim = a // heads
        if kv % self.head_dim or heads % (kv // self.head_dim):
            raise ModelError(
                f"{self.where}: k_proj has {kv} rows, not a whole number of KV heads of size {self.head_dim} dividing {heads} heads",
                hint="restore the model's config.json",
            )
        self.group = heads // (kv // self.head_dim)  # query heads per KV head
        self._shapes(
            source,
            {"q": (a, h), "k": (kv, h), "v": (kv, h), "o": (h, a), "gate": (inter, h), "up": (inter, h), "down": (h, inter)},
        )
        self.intermediate = inter
        return LayerSizes(h, a, 2 * inter), h

    def kv_row(self, t: np.ndarray) -> np.ndarray:
        """K/V row serving query index t (see the module docstring)."""
        row: np.ndarray = (t // self.head_dim) // self.group * self.head_dim + t % self.head_dim
        return row

    def input_qkv(self, source: TensorSource, block: int, inp: np.ndarray, t: np.ndarray) -> np.ndarray:
        r = self.kv_row(t)
        return np.concatenate(
            [
                self._linear(source, "q", block, t, inp),
                self._linear(source, "k", block, r, inp),
                self._linear(source, "v", block, r, inp),
            ]
        )

    def context_attn_out(self, source: TensorSource, block: int, t: np.ndarray, out: np.ndarray) -> np.ndarray:
        return self._linear(source, "o", block, out, t)

    def attn_out_mlp(self, source: TensorSource, block: int, a: np.ndarray, hid: np.ndarray) -> np.ndarray:
        gate = hid < self.intermediate
        m = np.empty((len(hid), len(a)), dtype=np.float64)
        m[gate] = self._linear(source, "gate", block, hid[gate], a)
        m[~gate] = self._linear(source, "up", block, hid[~gate] - self.intermediate, a)
        return m

    def mlp_down(self, source: TensorSource, block: int, hid: np.ndarray, out: np.ndarray) -> np.ndarray:
        return self._linear(source, "down", block, out, hid % self.intermediate)

    def hidden_parts(self, hid: np.ndarray) -> np.ndarray:
        return np.where(hid < self.intermediate, PART_CODE["gate"], PART_CODE["up"]).astype(np.int8)


class GPT2Adapter(FusedQKVAdapter):
    """GPT-2: Conv1D weights [in, out]; c_attn [h, 3h] holds [Q | K | V] along the output dim."""

    family = "gpt2"
    model_types = ("gpt2",)
    conv1d = True
    templates = {
        "qkv": "h.{b}.attn.c_attn.weight",
        "dense": "h.{b}.attn.c_proj.weight",
        "up": "h.{b}.mlp.c_fc.weight",
        "down": "h.{b}.mlp.c_proj.weight",
    }


class BertAdapter(Adapter):
    """BERT / RoBERTa encoders: self.query/key/value, attention.output.dense, intermediate, output."""

    family = "bert"
    model_types = ("bert", "roberta")
    templates = {
        "q": "encoder.layer.{b}.attention.self.query.weight",
        "k": "encoder.layer.{b}.attention.self.key.weight",
        "v": "encoder.layer.{b}.attention.self.value.weight",
        "o": "encoder.layer.{b}.attention.output.dense.weight",
        "up": "encoder.layer.{b}.intermediate.dense.weight",
        "down": "encoder.layer.{b}.output.dense.weight",
    }

    def _sizes(self, source: TensorSource) -> tuple[LayerSizes, int]:
        a, h = source.shape(self.name("q", 0))
        m = source.shape(self.name("up", 0))[0]
        self._shapes(source, {"q": (a, h), "k": (a, h), "v": (a, h), "o": (h, a), "up": (m, h), "down": (h, m)})
        return LayerSizes(h, a, m), h

    def input_qkv(self, source: TensorSource, block: int, inp: np.ndarray, t: np.ndarray) -> np.ndarray:
        return np.concatenate([self._linear(source, r, block, t, inp) for r in ("q", "k", "v")])

    def context_attn_out(self, source: TensorSource, block: int, t: np.ndarray, out: np.ndarray) -> np.ndarray:
        return self._linear(source, "o", block, out, t)

    def attn_out_mlp(self, source: TensorSource, block: int, a: np.ndarray, hid: np.ndarray) -> np.ndarray:
        return self._linear(source, "up", block, hid, a)

    def mlp_down(self, source: TensorSource, block: int, hid: np.ndarray, out: np.ndarray) -> np.ndarray:
        return self._linear(source, "down", block, out, hid)


ADAPTERS: tuple[type[Adapter], ...] = (GPTNeoXAdapter, LlamaAdapter, GPT2Adapter, BertAdapter)
SUPPORTED: dict[str, type[Adapter]] = {mt: cls for cls in ADAPTERS for mt in cls.model_types}


def adapter_for(source: TensorSource) -> Adapter:
    """The adapter for the source's ``model_type``; ModelError listing the supported ones."""
    model_type = source.config.get("model_type")
    cls = SUPPORTED.get(model_type) if isinstance(model_type, str) else None
    if cls is None:
        raise ModelError(
            f"unsupported architecture {model_type!r} in {source.path}",
            hint=f"supported model types: {', '.join(sorted(SUPPORTED))}",
        )
    return cls(source)
