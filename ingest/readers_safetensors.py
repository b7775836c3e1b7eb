"""safetensors checkpoints (one file or shards), read row by row.

The header is validated with ``safetensors.safe_open``; tensors are then read with positioned
reads of just the sampled rows (``source.read_rows``). ``get_slice`` takes contiguous ranges
only (32 scattered rows of 3072 span the whole matrix) and a memory map makes far more than
the touched rows resident (see ``read_rows``); here the resident cost is the rows themselves.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neuromfa.base.errors import ModelError
from neuromfa.ingest.source import Index, ModelConfig, TensorSource, as_index, read_rows, select, to_float

_NP_DTYPES: dict[str, str] = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2",
    "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
    "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?",
}
_FLOAT = {"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2"}
_ITEMSIZE = {"F8_E4M3": 1, "F8_E5M2": 1}


@dataclass(frozen=True)
class _Entry:
    file: int
    dtype: str
    shape: tuple[int, ...]
    begin: int  # absolute byte offset in the file
    end: int


def _corrupt(path: Path, what: str) -> ModelError:
    return ModelError(
        f"{path} is not a valid safetensors file ({what})",
        hint="the file is truncated or corrupt; download or save the checkpoint again",
    )


def read_header(path: Path) -> tuple[dict[str, _Entry], int]:
    """Parse and check a safetensors header; returns entries without file index (file=-1)."""
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                raise _corrupt(path, "shorter than its 8-byte header length")
            (n,) = struct.unpack("<Q", head)
            if n > size - 8:
                raise _corrupt(path, f"header length {n} exceeds the file size {size}")
            header = json.loads(fh.read(n))
    except OSError as exc:
        raise ModelError(f"cannot read {path}: {exc.strerror}", hint="check the path and its permissions") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _corrupt(path, "header is not JSON") from exc
    if not isinstance(header, dict):
        raise _corrupt(path, "header is not a JSON object")
    base = 8 + n
    entries: dict[str, _Entry] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (b, e) = info["dtype"], tuple(int(s) for s in info["shape"]), info["data_offsets"]
        except (KeyError, TypeError, ValueError) as exc:
            raise _corrupt(path, f"bad header entry for {name!r}") from exc
        itemsize = _ITEMSIZE.get(dtype) or (np.dtype(_NP_DTYPES[dtype]).itemsize if dtype in _NP_DTYPES else None)
        if itemsize is None:
            raise _corrupt(path, f"unknown dtype {dtype!r} of {name!r}")
        if not (0 <= b <= e and base + e <= size) or e - b != itemsize * int(np.prod(shape, dtype=np.int64)):
            raise _corrupt(path, f"data of {name!r} lies outside the file or has the wrong size")
        entries[name] = _Entry(-1, dtype, shape, base + b, base + e)
    return entries, size


def _check_with_safetensors(path: Path) -> None:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="numpy") as fh:  # numpy: validation needs no torch
            fh.keys()
    except (SafetensorError, OSError) as exc:
        raise _corrupt(path, str(exc)) from exc


class SafetensorsSource(TensorSource):
    """One or more .safetensors files of one checkpoint."""

    format = "safetensors"

    def __init__(self, files: list[Path], *, path: Path, config: ModelConfig):
        self.path = path
        self.config = config
        self.files = list(files)
        self._entries: dict[str, _Entry] = {}
        self._fds: dict[int, int] = {}
        for i, f in enumerate(self.files):
            if not f.is_file():
                raise ModelError(f"weights file {f} is missing", hint="copy the complete checkpoint (every shard)")
            _check_with_safetensors(f)
            entries, _ = read_header(f)
            for name, e in entries.items():
                self._entries[name] = _Entry(i, e.dtype, e.shape, e.begin, e.end)

    def names(self) -> list[str]:
        return list(self._entries)

    def _entry(self, name: str) -> _Entry:
        try:
            return self._entries[name]
        except KeyError:
            self.require(name)
            raise

    def shape(self, name: str) -> tuple[int, ...]:
        return self._entry(name).shape

    def _is_float(self, name: str) -> bool:
        return self._entries[name].dtype in _FLOAT

    def _fd(self, i: int) -> int:
        fd = self._fds.get(i)
        if fd is None:
            fd = self._fds[i] = os.open(self.files[i], os.O_RDONLY)
        return fd

    def _read(self, e: _Entry, rows: np.ndarray | None) -> np.ndarray:
        """Rows ``rows`` (None: all) of the tensor in its stored dtype, in the order given."""
        out = read_rows(self._fd(e.file), e.begin, np.dtype(_NP_DTYPES[e.dtype]), e.shape, rows, str(self.files[e.file]))
        return out if e.shape else out.reshape(())

    def take(self, name: str, rows: Index = None, cols: Index = None) -> np.ndarray:
        e = self._entry(name)
        r = as_index(rows, e.shape[0] if e.shape else 1, name, "row")
        c = as_index(cols, e.shape[1] if len(e.shape) > 1 else (e.shape[0] if e.shape else 1), name, "column")
        if e.dtype not in _NP_DTYPES:  # float8: numpy has no such type; let torch convert it
            return self._take_torch(name, e, r, c)
        part = select(self._read(e, r), None, c)
        if e.dtype == "BF16":  # bfloat16 is the top half of a float32
            return (part.astype(np.uint32) << 16).view(np.float32)
        return part if part.dtype in (np.float32, np.float64) else to_float(part)

    def _take_torch(self, name: str, e: _Entry, r: np.ndarray | None, c: np.ndarray | None) -> np.ndarray:
        from safetensors import safe_open

        with safe_open(str(self.files[e.file]), framework="pt") as fh:
            t = fh.get_tensor(name)
        return to_float(select(t.float().numpy(), r, c))

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()

    def __del__(self) -> None:
        self.close()
