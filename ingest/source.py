"""The TensorSource interface every model reader implements.

A source exposes the tensors of ONE checkpoint by their transformers (PyTorch) names and
shapes, whatever the file format; ``take`` materialises only the requested rows and columns,
so a weight matrix is never copied whole when a sample needs a few dozen of its neurons.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from neuromfa.errors import ModelError

# Tensors stored in checkpoints that are buffers, not parameters (excluded from the count).
_BUFFER = re.compile(r"(position_ids|masked_bias|rotary_emb\.inv_freq|\.attn\.bias)$")

Index = Sequence[int] | np.ndarray | None


def as_index(idx: Index, size: int, name: str, axis: str) -> np.ndarray | None:
    """Normalise a row/column selection to an int64 array, checking its range."""
    if idx is None:
        return None
    arr = np.asarray(idx, dtype=np.int64).reshape(-1)
    if arr.size and (arr.min() < -size or arr.max() >= size):
        raise ModelError(
            f"{axis} index out of range for tensor {name!r} with {size} {axis}s",
            hint="the sampled neurons do not fit this checkpoint's shapes; check that all checkpoints share one architecture",
        )
    return arr


def to_float(a: np.ndarray) -> np.ndarray:
    """float32 for every narrower float type, float64 kept (never a view into a mapped file)."""
    if a.dtype == np.float64:
        return np.array(a, dtype=np.float64, copy=True)
    return np.array(a, dtype=np.float32, copy=True)


def select(a: np.ndarray, rows: np.ndarray | None, cols: np.ndarray | None) -> np.ndarray:
    """Fancy-index rows first (so a memory-mapped array only touches those rows), then columns."""
    if rows is not None:
        a = a[rows]
    if cols is not None:
        a = a[:, cols] if a.ndim >= 2 else a[cols]
    return a


class TensorSource(ABC):
    """Read access to one checkpoint's tensors. Use as a context manager or call ``close``.

    ``path``: the file or directory read; ``config``: the model configuration as a plain dict
    (config.json, or derived from GGUF metadata) with at least ``model_type``.
    """

    path: Path
    config: dict
    format: str = ""

    @abstractmethod
    def names(self) -> list[str]:
        """Tensor names (transformers naming), in file order."""

    @abstractmethod
    def shape(self, name: str) -> tuple[int, ...]:
        """Shape in PyTorch layout (Linear: [out, in]; GPT-2 Conv1D: [in, out])."""

    def get(self, name: str) -> np.ndarray:
        """The whole tensor as float32 (float64 if stored so)."""
        return self.take(name)

    @abstractmethod
    def take(self, name: str, rows: Index = None, cols: Index = None) -> np.ndarray:
        """``tensor[rows][:, cols]`` as float32/float64, reading only the selected rows.

        ``rows``/``cols`` are integer sequences (repeats allowed, order kept) or None for all.
        A 1-D tensor takes ``rows`` only.
        """

    def _is_float(self, name: str) -> bool:
        return True

    def n_params(self) -> int:
        """Total parameter count from the tensor shapes (floating tensors, buffers excluded)."""
        return int(
            sum(int(np.prod(self.shape(n), dtype=np.int64)) for n in self.names() if self._is_float(n) and not _BUFFER.search(n))
        )

    def require(self, name: str) -> None:
        if name not in self._name_set():
            raise ModelError(
                f"tensor {name!r} is missing from {self.path}",
                hint="the checkpoint is incomplete or not of the architecture its config names",
            )

    def _name_set(self) -> set[str]:
        cached = getattr(self, "_names_cache", None)
        if cached is None:
            cached = set(self.names())
            self._names_cache = cached
        return cached

    def close(self) -> None:  # noqa: B027 - optional for sources without open handles
        pass

    def __enter__(self) -> "TensorSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"
