"""The TensorSource interface every model reader implements.

A source exposes the tensors of ONE checkpoint by their transformers (PyTorch) names and
shapes, whatever the file format; ``take`` materialises only the requested rows and columns,
so a weight matrix is never copied whole when a sample needs a few dozen of its neurons.
"""

from __future__ import annotations

import json
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from neuromfa.base.errors import ModelError

# Tensors stored in checkpoints that are buffers, not parameters (excluded from the count).
_BUFFER = re.compile(r"(position_ids|masked_bias|rotary_emb\.inv_freq|\.attn\.bias)$")

Index = Sequence[int] | np.ndarray | None
ModelConfig = dict[str, Any]  # a model's configuration: config.json, or derived from GGUF metadata
_CHUNK = 1 << 30


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
    """Fancy-index rows first (a memory-mapped array then touches only those rows), then columns."""
    if rows is not None:
        a = a[rows]
    if cols is not None:
        a = a[:, cols] if a.ndim >= 2 else a[cols]
    return a


def read_rows(fd: int, offset: int, dtype: np.dtype, shape: tuple[int, ...], rows: np.ndarray | None, where: str) -> np.ndarray:
    """Rows ``rows`` (None: all, repeats and order kept) of a C-ordered array of ``shape``
    stored at byte ``offset`` of the open file ``fd``, read with positioned reads.

    No memory map: mapped file pages count towards the RSS, and with the large page-cache
    folios of current kernels touching 64 scattered rows of a mapped 128 MB tensor made 88 MB
    resident. One read per run of consecutive rows (a loop over runs, never over elements).
    """
    dtype = np.dtype(dtype)
    shape = shape or (1,)
    row_elems = int(np.prod(shape[1:], dtype=np.int64))
    row_bytes = row_elems * dtype.itemsize
    if rows is None:
        uniq, inverse = np.arange(shape[0]), None
    else:
        uniq, inverse = np.unique(rows % shape[0], return_inverse=True)
    if not len(uniq):  # no row asked for (e.g. a sample of gate rows only leaves the up rows empty)
        return np.empty((0,) + tuple(shape[1:]), dtype)
    buf = np.empty((len(uniq), row_elems), dtype)
    flat = buf.reshape(-1).view(np.uint8)
    cuts = np.flatnonzero(np.diff(uniq) != 1) + 1
    for a, b in zip(np.r_[0, cuts].tolist(), np.r_[cuts, len(uniq)].tolist()):
        start, stop, pos = a * row_bytes, b * row_bytes, offset + int(uniq[a]) * row_bytes
        while start < stop:  # a single read returns at most ~2 GiB
            got = os.preadv(fd, [flat[start : min(stop, start + _CHUNK)].data], pos)
            if got <= 0:
                raise ModelError(
                    f"{where}: tensor data ends early ({stop - start} bytes missing)",
                    hint="the file is truncated or corrupt; download or save the checkpoint again",
                )
            start, pos = start + got, pos + got
    out = buf if inverse is None else buf[inverse]
    return out.reshape((len(out),) + tuple(shape[1:]))


class TensorSource(ABC):
    """Read access to one checkpoint's tensors. Use as a context manager or call ``close``.

    ``path``: the file or directory read; ``config``: the model configuration as a plain dict
    (config.json, or derived from GGUF metadata) with at least ``model_type``.
    """

    path: Path
    config: ModelConfig
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

    def __enter__(self) -> TensorSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"


class ShardedSource(Protocol):
    """A source class opened on shard files: ``cls(files, *, path, config)``."""

    def __call__(self, files: list[Path], *, path: Path, config: ModelConfig) -> TensorSource: ...


def open_sharded(cls: ShardedSource, index: Path, *, path: Path, config: ModelConfig) -> TensorSource:
    """A sharded checkpoint described by its index file (``*.index.json``), opened with ``cls``
    (a source taking ``(files, *, path, config)``); every indexed tensor must be in its shards."""
    try:
        weight_map = json.loads(index.read_text())["weight_map"]
        shards = sorted(set(weight_map.values()))
    except (OSError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise ModelError(f"{index} is not a valid shard index", hint="restore the index file or the complete checkpoint") from exc
    src = cls([index.parent / s for s in shards], path=path, config=config)
    missing = sorted(set(weight_map) - set(src.names()))
    if missing:
        src.close()
        raise ModelError(
            f"{len(missing)} tensors listed in {index.name} are not in their shards (first: {missing[0]!r})",
            hint="a shard is truncated or from another checkpoint; copy the checkpoint again",
        )
    return src
