"""PyTorch pickle checkpoints (pytorch_model.bin, sharded or not).

Loaded with ``torch.load(mmap=True, weights_only=True)``: the tensors stay in the mapped file
and indexing copies only the sampled rows. Legacy (pre-zip) files cannot be mapped; those are
loaded normally, one shard at a time.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from neuromfa.base.errors import ModelError
from neuromfa.ingest.source import Index, ModelConfig, TensorSource, as_index, to_float

if TYPE_CHECKING:
    import torch


def _load(path: Path) -> dict[str, torch.Tensor]:
    import torch

    if not path.is_file():
        raise ModelError(f"weights file {path} is missing", hint="copy the complete checkpoint (every shard)")
    try:
        mmap = zipfile.is_zipfile(path)
        state = torch.load(path, map_location="cpu", mmap=mmap, weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, ValueError, OSError) as exc:
        raise ModelError(
            f"{path} is not a readable PyTorch checkpoint ({str(exc).splitlines()[0][:200]})",
            hint="the file is truncated or corrupt; save the checkpoint again (safetensors preferred)",
        ) from exc
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ModelError(f"{path} does not hold a state dict", hint="save the model with save_pretrained or torch.save(model.state_dict())")
    return {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}


class TorchTensorsSource(TensorSource):
    """A TensorSource over torch tensors held in ``_tensors`` (name -> tensor), on any device:
    ``take`` indexes the sampled rows and columns where the tensor lives and copies only those
    to the CPU (float32, float64 kept)."""

    _tensors: dict[str, torch.Tensor]

    def names(self) -> list[str]:
        return list(self._tensors)

    def _tensor(self, name: str) -> torch.Tensor:
        if name not in self._tensors:
            self.require(name)  # raises: the one message for a missing tensor
        return self._tensors[name]

    def shape(self, name: str) -> tuple[int, ...]:
        return tuple(self._tensor(name).shape)

    def _is_float(self, name: str) -> bool:
        return bool(self._tensors[name].is_floating_point())

    def take(self, name: str, rows: Index = None, cols: Index = None) -> np.ndarray:
        import torch

        t = self._tensor(name).detach()
        shape = tuple(t.shape)
        r = as_index(rows, shape[0] if shape else 1, name, "row")
        c = as_index(cols, shape[1] if len(shape) > 1 else (shape[0] if shape else 1), name, "column")
        with torch.no_grad():
            if r is not None:
                t = t[torch.from_numpy(r).to(t.device)]
            if c is not None:
                idx = torch.from_numpy(c).to(t.device)
                t = t[:, idx] if t.dim() >= 2 else t[idx]
            if t.dtype != torch.float64:
                t = t.to(torch.float32)
            return to_float(t.cpu().numpy())


class TorchBinSource(TorchTensorsSource):
    """One or more pytorch_model*.bin files of one checkpoint."""

    format = "pytorch"

    def __init__(self, files: list[Path], *, path: Path, config: ModelConfig):
        self.path = path
        self.config = config
        self.files = list(files)
        self._tensors = {}
        for f in self.files:
            self._tensors.update(_load(f))

    def close(self) -> None:
        self._tensors.clear()
