"""GGUF files (llama.cpp), dequantised through transformers' GGUF support.

transformers provides the three pieces used here: the config parsed from the GGUF metadata
(``load_gguf_checkpoint``), the GGUF -> transformers tensor-name map
(``get_gguf_hf_weights_map`` over a model built on the meta device, so no memory) and the
per-architecture tensor processor, which undoes llama.cpp's Q/K row permutation for Llama and
the transposition for GPT-2. Instead of its whole-model load, each tensor is dequantised on
demand and, where the processor only reorders rows (or transposes), only the sampled rows of
the quantised data are read (positioned reads, see ``source.read_rows``) and dequantised: the
processor is probed once per tensor on an ``arange`` to learn that row order.
"""

from __future__ import annotations

import os
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from neuromfa.base.errors import ModelError
from neuromfa.ingest.source import Index, ModelConfig, TensorSource, as_index, read_rows, select, to_float

if TYPE_CHECKING:
    import torch
    from gguf import GGUFReader, ReaderTensor
    from transformers.modeling_gguf_pytorch_utils import TensorProcessor

_READER_LOCK = threading.Lock()


@dataclass
class _Layout:
    """How the processed (transformers) tensor relates to the GGUF rows.

    kind "rows": hf[r] = gguf[perm[r]] (perm None: same order); "transpose": hf = gguf.T;
    "full": anything else (the whole tensor is dequantised and processed). ``shape``: hf shape.
    """

    kind: Literal["rows", "transpose", "full"]
    shape: tuple[int, ...]
    perm: np.ndarray | None = None


def _gguf_error(path: Path, what: str) -> ModelError:
    return ModelError(
        f"{path} is not a readable GGUF model ({what})",
        hint="the file is truncated, corrupt or of an architecture transformers cannot read; download it again",
    )


@contextmanager
def _reuse_reader(reader: GGUFReader) -> Iterator[None]:
    """Let transformers' ``load_gguf_checkpoint`` use our already parsed reader: parsing the
    metadata (a 50k-entry vocabulary) costs seconds. It imports ``gguf.GGUFReader`` when called,
    so the attribute is swapped for the duration of that call (under a lock)."""
    import gguf

    with _READER_LOCK:
        original = gguf.GGUFReader
        gguf.GGUFReader = lambda *args, **kwargs: reader  # type: ignore[misc, assignment]  # a stand-in for the class
        try:
            yield
        finally:
            gguf.GGUFReader = original  # type: ignore[misc]


def _parse_config(path: Path, reader: GGUFReader) -> tuple[dict[str, Any], ModelConfig]:
    """(raw, full): the config keys transformers reads from the GGUF metadata, and the full
    transformers config as a dict (defaults such as head_dim filled in)."""
    from transformers import AutoConfig
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

    try:
        with _reuse_reader(reader):
            parsed = load_gguf_checkpoint(str(path), return_tensors=False)
    except ValueError as exc:
        if "not supported" in str(exc):
            raise ModelError(f"{path}: {exc}", hint="convert the model to a transformers directory (safetensors) instead") from exc
        raise _gguf_error(path, str(exc)) from exc
    except (OSError, KeyError, IndexError, TypeError, AssertionError, struct.error) as exc:
        raise _gguf_error(path, f"{type(exc).__name__}: {exc}") from exc
    raw = dict(parsed["config"])
    kwargs = {k: v for k, v in raw.items() if k not in ("model_type", "_model_name_or_path")}
    model_type = raw.get("model_type")
    if model_type is None:
        raise _gguf_error(path, "no general.architecture in its metadata")
    try:
        cfg = AutoConfig.for_model(model_type, **kwargs).to_dict()
    except (ValueError, KeyError) as exc:
        raise ModelError(f"{path}: transformers has no config for GGUF architecture {model_type!r}") from exc
    cfg["model_type"] = model_type
    return raw, cfg


def _name_map(arch: str, raw: dict[str, Any], config: ModelConfig, gguf_names: list[str]) -> tuple[dict[str, str], TensorProcessor]:
    """GGUF tensor name -> transformers name, and transformers' tensor processor for ``arch``."""
    import torch
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM
    from transformers.modeling_gguf_pytorch_utils import TENSOR_PROCESSORS, TensorProcessor, get_gguf_hf_weights_map

    kind: type[TensorProcessor] = TENSOR_PROCESSORS.get(arch, TensorProcessor)
    processor = kind(config=raw)
    kwargs = {k: v for k, v in config.items() if k != "model_type"}
    hf_config = AutoConfig.for_model(config["model_type"], **kwargs)
    with torch.device("meta"):  # names only: no parameter memory is allocated
        try:
            model = AutoModelForCausalLM.from_config(hf_config)
        except ValueError:
            model = AutoModel.from_config(hf_config)
    # transformers also maps every submodule separately (for checkpoints converted from a base
    # model) and rebuilds gguf's name table each time: seconds per model. Map the whole model
    # first and recurse only where that leaves GGUF tensors unnamed.
    mapping = get_gguf_hf_weights_map(_TopLevel(model), processor)
    if not set(gguf_names) <= set(mapping):
        mapping = get_gguf_hf_weights_map(model, processor)
    return mapping, processor


class _TopLevel:
    """A model seen without its submodules (for ``get_gguf_hf_weights_map``)."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.config = model.config
        self._state = model.state_dict()

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self._state

    def named_children(self) -> Iterator[tuple[str, torch.nn.Module]]:
        return iter(())


class GGUFSource(TensorSource):
    """One .gguf file; tensors exposed under their transformers names, dequantised to float32."""

    format = "gguf"

    def __init__(self, file: Path, *, path: Path | None = None):
        from gguf import GGUFReader
        from transformers.modeling_gguf_pytorch_utils import read_field

        self.path = path or file
        self.file = file
        self._fd: int | None = None
        self._tensors: dict[str, ReaderTensor] = {}
        if not file.is_file():
            raise ModelError(f"GGUF file {file} is missing", hint="check the path")
        try:
            self._reader: GGUFReader | None = GGUFReader(str(file))
            arch = read_field(self._reader, "general.architecture")[0]
        except (ValueError, OSError, KeyError, IndexError, struct.error) as exc:
            raise _gguf_error(file, f"{type(exc).__name__}: {exc}") from exc
        self._fd = os.open(file, os.O_RDONLY)
        raw, self.config = _parse_config(file, self._reader)
        try:
            gguf_to_hf, self._processor = _name_map(arch, raw, self.config, [t.name for t in self._reader.tensors])
        except (NotImplementedError, ValueError, KeyError) as exc:
            raise ModelError(
                f"{file}: transformers cannot map the tensors of GGUF architecture {arch!r} ({exc})",
                hint="convert the model to a transformers directory (safetensors) instead",
            ) from exc
        self._all_elements = 0
        for t in self._reader.tensors:
            self._all_elements += int(t.n_elements)
            hf = gguf_to_hf.get(t.name)
            if hf is not None:
                self._tensors[hf] = t
        self._layouts: dict[str, _Layout] = {}

    def names(self) -> list[str]:
        return list(self._tensors)

    def n_params(self) -> int:
        # every GGUF tensor is a parameter (tied embeddings are stored once)
        return self._all_elements

    def _tensor(self, name: str) -> ReaderTensor:
        if name not in self._tensors:
            self.require(name)  # raises: the one message for a missing tensor
        return self._tensors[name]

    def _gguf_shape(self, t: ReaderTensor) -> tuple[int, ...]:
        return tuple(int(s) for s in reversed(t.shape.tolist()))  # ggml lists the fastest axis first

    def _process(self, weights: np.ndarray, t: ReaderTensor) -> np.ndarray:
        processed: np.ndarray = self._processor.process(weights=weights, name=t.name, parsed_parameters={"tensors": {}}).weights
        return processed

    def _layout(self, name: str) -> _Layout:
        lay = self._layouts.get(name)
        if lay is not None:
            return lay
        t = self._tensor(name)
        shape = self._gguf_shape(t)
        lay = None
        if len(shape) == 2:
            n = shape[0]
            probe = np.repeat(np.arange(n, dtype=np.float64)[:, None], 2, axis=1)
            out = np.asarray(self._process(probe, t))
            if out.shape == (n, 2) and np.array_equal(out[:, 0], out[:, 1]) and np.array_equal(np.sort(out[:, 0]), probe[:, 0]):
                perm = out[:, 0].astype(np.int64)
                lay = _Layout("rows", shape, None if np.array_equal(perm, probe[:, 0]) else perm)
            elif out.shape == (2, n) and np.array_equal(out[0], probe[:, 0]) and np.array_equal(out[1], probe[:, 0]):
                lay = _Layout("transpose", shape[::-1])
        if lay is None:  # anything else: process the whole tensor once to learn its shape
            lay = _Layout("full", tuple(self._full(name).shape))
        self._layouts[name] = lay
        return lay

    def shape(self, name: str) -> tuple[int, ...]:
        return self._layout(name).shape

    def _dequant_rows(self, t: ReaderTensor, rows: np.ndarray | None) -> np.ndarray:
        from gguf import dequantize

        # the reader's memmap only supplies dtype and shape; bytes come by positioned reads
        if self._fd is None:
            raise ModelError(f"GGUF file {self.file} was closed", hint="open the checkpoint again")
        data = read_rows(self._fd, int(t.data_offset), t.data.dtype, tuple(t.data.shape), rows, str(self.file))
        try:
            out = dequantize(data, t.tensor_type)
        except (NotImplementedError, ValueError) as exc:
            raise ModelError(
                f"cannot dequantise tensor {t.name!r} of type {t.tensor_type.name} in {self.file}",
                hint="upgrade the gguf package or use another quantisation of the model",
            ) from exc
        return out.reshape((len(rows),) + self._gguf_shape(t)[1:]) if rows is not None else out.reshape(self._gguf_shape(t))

    def _full(self, name: str) -> np.ndarray:
        t = self._tensor(name)
        return np.asarray(self._process(self._dequant_rows(t, None), t))

    def take(self, name: str, rows: Index = None, cols: Index = None) -> np.ndarray:
        t = self._tensor(name)
        lay = self._layout(name)
        shape = lay.shape
        r = as_index(rows, shape[0], name, "row")
        c = as_index(cols, shape[1] if len(shape) > 1 else shape[0], name, "column")
        if lay.kind == "rows":
            g_rows = r
            if lay.perm is not None:
                g_rows = lay.perm if r is None else lay.perm[r]
            return to_float(select(self._dequant_rows(t, g_rows), None, c))
        if lay.kind == "transpose":  # hf[r, c] = gguf[c, r]: dequantise only the gguf rows c
            part = self._dequant_rows(t, c)
            return to_float(select(part, None, r).T)
        return to_float(select(self._full(name), r, c))

    def close(self) -> None:
        self._tensors.clear()
        self._reader = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:
        if getattr(self, "_fd", None) is not None:
            self.close()

