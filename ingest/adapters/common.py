"""The two shapes of block every built-in family has, as reusable adapters.

``SplitQKVAdapter``: separate q, k, v projections (Llama, Gemma, BERT, OPT, GPT-J, Phi, StableLM).
``FusedQKVAdapter``: one fused projection whose rows the subclass lays out (GPT-NeoX, GPT-2,
Falcon, Phi-3). Both share the attention output projection (role ``o``) and the MLP:

- plain (roles ``up``, ``down``): mlp_hidden is up's rows;
- gated (roles ``gate``, ``up``, ``down``): mlp_hidden is the concatenation [gate; up] of
  2 * intermediate rows, and down [hidden, intermediate] reads hidden node j through its column
  j mod intermediate;
- fused gated (roles ``gate_up``, ``down``, Phi-3): gate_up's rows are already [gate; up].

``conv1d``: weights stored [in, out] (GPT-2's Conv1D) instead of PyTorch's [out, in].
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

import numpy as np

from neuromfa.base.errors import ModelError
from neuromfa.ingest.adapters.base import Adapter, AttentionShape
from neuromfa.ingest.sampler import LayerSizes
from neuromfa.ingest.source import TensorSource
from neuromfa.schema.layers import PART_CODE

QKVRows = tuple[np.ndarray, np.ndarray, np.ndarray]


class BlockAdapter(Adapter):
    """Attention output and MLP reads shared by the split and fused adapters."""

    conv1d: ClassVar[bool] = False
    intermediate: int  # rows per MLP part (gate or up); the whole hidden width for a plain MLP

    @property
    def mlp_kind(self) -> str:
        if "gate_up" in self.templates:
            return "fused_gated"
        return "gated" if "gate" in self.templates else "plain"

    def _out_rows(self, source: TensorSource, role: str) -> int:
        shape = source.shape(self.name(role, 0))
        return int(shape[1] if self.conv1d else shape[0])

    @abstractmethod
    def _attention_shapes(self, source: TensorSource) -> tuple[int, int, dict[str, tuple[int, int]]]:
        """(query width A, hidden h, expected [out, in] shape per attention role); sets ``attention``."""

    def _sizes(self, source: TensorSource) -> tuple[LayerSizes, int]:
        a, h, expected = self._attention_shapes(source)
        expected = {**expected, "o": (h, a)}
        kind = self.mlp_kind
        if kind == "plain":
            m = self.intermediate = self._out_rows(source, "up")
            expected |= {"up": (m, h), "down": (h, m)}
        elif kind == "gated":
            inter = self.intermediate = self._out_rows(source, "gate")
            m = 2 * inter
            expected |= {"gate": (inter, h), "up": (inter, h), "down": (h, inter)}
        else:
            m = self._out_rows(source, "gate_up")
            if m % 2:
                raise ModelError(f"tensor {self.name('gate_up', 0)!r} in {self.where} has {m} rows, not [gate; up] halves",
                                 hint="the checkpoint does not match its architecture or is corrupt")
            inter = self.intermediate = m // 2
            expected |= {"gate_up": (m, h), "down": (h, inter)}
        self._shapes(source, {r: s[::-1] if self.conv1d else s for r, s in expected.items()})
        return LayerSizes(h, a, m), h

    def context_attn_out(self, source: TensorSource, block: int, t: np.ndarray, out: np.ndarray) -> np.ndarray:
        return self._linear(source, "o", block, out, t, conv1d=self.conv1d)

    def attn_out_mlp(self, source: TensorSource, block: int, a: np.ndarray, hid: np.ndarray) -> np.ndarray:
        kind = self.mlp_kind
        if kind == "plain":
            return self._linear(source, "up", block, hid, a, conv1d=self.conv1d)
        if kind == "fused_gated":
            return self._linear(source, "gate_up", block, hid, a, conv1d=self.conv1d)
        gate = hid < self.intermediate
        m = np.empty((len(hid), len(a)), dtype=np.float64)
        m[gate] = self._linear(source, "gate", block, hid[gate], a, conv1d=self.conv1d)
        m[~gate] = self._linear(source, "up", block, hid[~gate] - self.intermediate, a, conv1d=self.conv1d)
        return m

    def mlp_down(self, source: TensorSource, block: int, hid: np.ndarray, out: np.ndarray) -> np.ndarray:
        cols = hid if self.mlp_kind == "plain" else hid % self.intermediate
        return self._linear(source, "down", block, out, cols, conv1d=self.conv1d)

    def hidden_parts(self, hid: np.ndarray) -> np.ndarray:
        if self.mlp_kind == "plain":
            return super().hidden_parts(hid)
        return np.where(hid < self.intermediate, PART_CODE["gate"], PART_CODE["up"]).astype(np.int8)


class SplitQKVAdapter(BlockAdapter):
    """Separate q (A x h), k and v (kv x h, grouped or multi-query KV heads) projections."""

    def _attention_shapes(self, source: TensorSource) -> tuple[int, int, dict[str, tuple[int, int]]]:
        a, h = self._out_rows(source, "q"), self._in_width(source, "q")
        kv = self._out_rows(source, "k")
        self.attention = self._attention(source.config, a, kv, what=self.templates["k"].rsplit(".", 2)[-2])
        return a, h, {"q": (a, h), "k": (kv, h), "v": (kv, h)}

    def _in_width(self, source: TensorSource, role: str) -> int:
        shape = source.shape(self.name(role, 0))
        return int(shape[0] if self.conv1d else shape[1])

    def kv_row(self, t: np.ndarray) -> np.ndarray:
        """K/V row serving query index t (see the base module's docstring)."""
        return self.attention.kv_row(t)

    def input_qkv(self, source: TensorSource, block: int, inp: np.ndarray, t: np.ndarray, *, faithful: bool = False) -> np.ndarray:
        # separate projections: the reference and faithful topologies read the same rows
        r = self.kv_row(t)
        return np.concatenate(
            [
                self._linear(source, "q", block, t, inp, conv1d=self.conv1d),
                self._linear(source, "k", block, r, inp, conv1d=self.conv1d),
                self._linear(source, "v", block, r, inp, conv1d=self.conv1d),
            ]
        )


class FusedQKVAdapter(BlockAdapter):
    """One fused projection (role ``qkv``). By default [3A, h] with multi-head attention, read by
    the reference topology as three contiguous blocks [Q; K; V] (the paper's reading of
    GPT-NeoX); ``true_qkv_rows`` is the layout attention really uses, which a subclass sets."""

    def _fused_attention(self, source: TensorSource, fused: int) -> tuple[int, AttentionShape]:
        """(query width A, attention geometry) of a fused projection with ``fused`` rows."""
        if fused % 3:
            raise ModelError(f"tensor {self.name('qkv', 0)!r} in {self.where} has a fused q/k/v dimension of {fused}, not a multiple of 3",
                             hint="the checkpoint does not match its architecture or is corrupt")
        a = fused // 3
        return a, self._attention(source.config, a, a, what="the fused q/k/v")

    def _attention_shapes(self, source: TensorSource) -> tuple[int, int, dict[str, tuple[int, int]]]:
        shape = source.shape(self.name("qkv", 0))
        fused, h = (shape[1], shape[0]) if self.conv1d else (shape[0], shape[1])
        a, self.attention = self._fused_attention(source, int(fused))
        return a, int(h), {"qkv": (int(fused), int(h))}

    def qkv_rows(self, t: np.ndarray) -> QKVRows:
        """Fused rows the reference topology reads for query index t: t, t + A, t + 2A."""
        a = self.facts.sizes.attn
        return t, t + a, t + 2 * a

    def true_qkv_rows(self, t: np.ndarray) -> QKVRows:
        """Fused rows attention really uses for query index t (default: as ``qkv_rows``)."""
        return self.qkv_rows(t)

    def input_qkv(self, source: TensorSource, block: int, inp: np.ndarray, t: np.ndarray, *, faithful: bool = False) -> np.ndarray:
        rows = self.true_qkv_rows(t) if faithful else self.qkv_rows(t)
        return self._linear(source, "qkv", block, np.concatenate(rows), inp, conv1d=self.conv1d)


def per_head_rows(attention: AttentionShape, t: np.ndarray) -> QKVRows:
    """Rows of t's Q, K, V in a fused projection interleaved per head, [h0: q k v | h1: q k v ...]
    (GPT-NeoX's and multi-head Falcon's real layout): head * 3 * head_dim + {0, 1, 2} * head_dim + j."""
    d = attention.head_dim
    base = (t // d) * 3 * d + t % d
    return base, base + d, base + 2 * d
