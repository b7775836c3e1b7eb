"""The adapter interface: a family's weight matrices mapped onto the shared chain of layer kinds
(schema/layers.py) input -> qkv -> context -> attn_out -> mlp_hidden -> next input.

An adapter resolves tensor names and layer sizes once (from the tensor shapes, cross-checked
with the config) and then returns, for sampled neuron indices, dense weight blocks
``M[out, in]`` (float64) with ``w(in a -> out b) = M[b, a]``. PyTorch Linear stores
``W[out, in]``, so ``M = W[out_idx][:, in_idx]``; GPT-2's Conv1D stores ``W[in, out]`` and is
transposed. Biases, norms and embeddings are never edges.

The qkv layer has 3k nodes per sample: for each sampled query index t the Q row, K row and V
row serving t (node indices t, t+A, t+2A, A the query width). Which stored rows those are is
the adapter's ``qkv_rows``. With grouped or multi-query KV heads the K and V nodes of t are the
rows of the KV head that serves t's query head, at t's offset within the head (transformers'
``repeat_kv``): ``kv_row(t) = ((t // head_dim) // group) * head_dim + t % head_dim``. Two
sampled t served by the same KV row get distinct nodes with identical incoming weights.

Every adapter also says how its blocks are wired (``parallel_residual``: attention and MLP both
read the block input, as in GPT-NeoX/Pythia, GPT-J, Falcon, Phi-1/2; or the MLP reads after
attention) and its attention geometry (``attention``: heads, KV heads, head size). The
reference topology ignores both; the faithful topology uses them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from neuromfa.base.errors import ModelError
from neuromfa.ingest.sampler import LayerSizes
from neuromfa.ingest.source import Index, ModelConfig, TensorSource


@dataclass(frozen=True)
class AttentionShape:
    """Attention geometry: ``heads`` query heads of ``head_dim``, served by ``kv_heads`` KV heads
    (``heads`` for multi-head, 1 for multi-query attention)."""

    heads: int
    kv_heads: int
    head_dim: int

    @property
    def group(self) -> int:
        """Query heads per KV head."""
        return self.heads // self.kv_heads

    def kv_row(self, t: np.ndarray) -> np.ndarray:
        """Row of the (unrepeated) K or V projection serving query index t."""
        row: np.ndarray = (t // self.head_dim) // self.group * self.head_dim + t % self.head_dim
        return row


@dataclass(frozen=True)
class ModelFacts:
    """What the Model record needs: arch (config model_type), hidden, blocks, params; and how the
    blocks are wired (``parallel_residual``)."""

    arch: str
    family: str
    hidden: int
    blocks: int
    params: int
    sizes: LayerSizes
    parallel_residual: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "arch": self.arch,
            "family": self.family,
            "hidden": self.hidden,
            "blocks": self.blocks,
            "params": self.params,
            "attn": self.sizes.attn,
            "mlp": self.sizes.mlp,
            "parallel_residual": self.parallel_residual,
        }


def config_value(config: ModelConfig, *keys: str, default: Any = None) -> Any:
    """The first of ``keys`` the config sets (not None), else ``default``."""
    for k in keys:
        if config.get(k) is not None:
            return config[k]
    return default


class Adapter(ABC):
    """Base: tensor-name resolution, the checked weight-block read and the attention geometry.

    A subclass declares ``family``, the config ``model_types`` it reads, its tensor
    ``templates`` (role -> name inside the model, ``{b}`` the block number; the first role is the
    one blocks are counted by) and whether its blocks are parallel-residual; it implements
    ``_sizes`` and the four weight-block reads.
    """

    family: ClassVar[str]
    model_types: ClassVar[tuple[str, ...]]
    templates: ClassVar[dict[str, str]]
    # True: attention and MLP both read the block input (x + attn(x) + mlp(x)); False: the MLP
    # reads the attention sum (x' = x + attn(x), x' + mlp(x')). ``residual_is_parallel`` may
    # read it from the config (GPT-NeoX's use_parallel_residual, Falcon's parallel_attn).
    parallel: ClassVar[bool] = False
    layer_count_keys: ClassVar[tuple[str, ...]] = ("num_hidden_layers", "n_layer")
    hidden_keys: ClassVar[tuple[str, ...]] = ("hidden_size", "n_embd", "d_model")
    heads_keys: ClassVar[tuple[str, ...]] = ("num_attention_heads", "n_head")

    attention: AttentionShape

    def __init__(self, source: TensorSource):
        self.model_type = source.config["model_type"]
        self.where = str(source.path)
        self.prefix = self._find_prefix(source)
        self.blocks = self._count_blocks(source)
        for b in range(self.blocks):
            for role in self.templates:
                source.require(self.name(role, b))
        self.parallel_residual = bool(self.residual_is_parallel(source.config))
        sizes, hidden = self._sizes(source)
        self.facts = ModelFacts(self.model_type, self.family, hidden, self.blocks, source.n_params(), sizes,
                                self.parallel_residual)
        self.warnings: list[str] = self._config_disagreements(source.config, hidden)

    @classmethod
    def residual_is_parallel(cls, config: ModelConfig) -> bool:
        """Whether this checkpoint's blocks are parallel-residual (default: the class's ``parallel``)."""
        return cls.parallel

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
        expected = config_value(source.config, *self.layer_count_keys)
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

    def _attention(self, config: ModelConfig, q_rows: int, kv_rows: int, *, what: str = "k_proj") -> AttentionShape:
        """Heads from the config, head size and KV heads from the projection widths, checked."""
        heads = config_value(config, *self.heads_keys)
        if not isinstance(heads, int) or heads < 1 or q_rows % heads:
            raise ModelError(
                f"{self.where}: {self.heads_keys[0]} = {heads} does not divide the query width {q_rows}",
                hint="restore the model's config.json",
            )
        head_dim = q_rows // heads
        if kv_rows % head_dim or heads % (kv_rows // head_dim):
            raise ModelError(
                f"{self.where}: {what} has {kv_rows} rows, not a whole number of KV heads of size {head_dim} dividing {heads} heads",
                hint="restore the model's config.json",
            )
        return AttentionShape(heads, kv_rows // head_dim, head_dim)

    @abstractmethod
    def _sizes(self, source: TensorSource) -> tuple[LayerSizes, int]:
        """(layer sizes, hidden size), checking the shapes of every block; sets ``attention``."""

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
    def input_qkv(self, source: TensorSource, block: int, inp: np.ndarray, t: np.ndarray, *, faithful: bool = False) -> np.ndarray:
        """(3k, k_in): rows Q t, K t, V t (in that order); columns the input draw. ``faithful``:
        the rows attention really uses where the reference topology reads others (a fused
        projection interleaved per head, as GPT-NeoX's)."""

    @abstractmethod
    def context_attn_out(self, source: TensorSource, block: int, t: np.ndarray, out: np.ndarray) -> np.ndarray:
        """(k_out, k): attention output projection, context t -> attn_out."""

    @abstractmethod
    def attn_out_mlp(self, source: TensorSource, block: int, a: np.ndarray, hid: np.ndarray) -> np.ndarray:
        """(2k, k): MLP input projection, a (attn_out, or the block input where the topology
        reads a parallel block's MLP from it: both index the hidden width) -> mlp_hidden."""

    @abstractmethod
    def mlp_down(self, source: TensorSource, block: int, hid: np.ndarray, out: np.ndarray) -> np.ndarray:
        """(k, 2k): mlp_hidden -> next block's input (or the output layer)."""

    def hidden_parts(self, hid: np.ndarray) -> np.ndarray:
        """Weight part (a PARTS code) feeding each MLP hidden row: one whole matrix by default."""
        return np.zeros(len(hid), dtype=np.int8)
