"""A TensorSource over a live model's tensors (a state dict in memory), for in-process analysis
during training: nothing is written to disk and no matrix is copied whole.

``take`` indexes the sampled rows and columns on the tensor's own device and copies only those
to the CPU (float32, float64 kept), exactly what the safetensors or PyTorch readers return for
the same tensor saved to a file, so a live evaluation sees the weights a checkpoint would hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from neuromfa.base.errors import ModelError
from neuromfa.ingest.source import Index, ModelConfig, TensorSource, as_index, to_float

if TYPE_CHECKING:
    import torch


class StateDictSource(TensorSource):
    """The tensors of ``state`` (name -> torch.Tensor, transformers naming) with ``config``
    (the model's configuration as a dict, with ``model_type``). ``label`` stands in for a path
    in messages."""

    format = "memory"

    def __init__(self, state: Mapping[str, torch.Tensor], config: ModelConfig, label: str = "live model"):
        import torch

        if not isinstance(config, dict) or not isinstance(config.get("model_type"), str):
            raise ModelError(f"the configuration of the {label} has no model_type",
                             "pass the model's config as a dict (model.config.to_dict())")
        self.path = Path(label)
        self.config = config
        self._tensors = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}

    @classmethod
    def of_model(cls, model: Any, label: str = "live model") -> StateDictSource:
        """The current weights of a transformers model (unwrapped from DDP-style ``.module``);
        ``state_dict`` returns the parameters themselves, detached, not copies."""
        inner = getattr(model, "module", model)
        config = getattr(inner, "config", None)
        if config is None or not hasattr(config, "to_dict"):
            raise ModelError(f"the {label} has no transformers config",
                             "pass a transformers PreTrainedModel (its config names the architecture)")
        return cls(inner.state_dict(), config.to_dict(), label)

    def names(self) -> list[str]:
        return list(self._tensors)

    def _tensor(self, name: str) -> torch.Tensor:
        if name not in self._tensors:
            self.require(name)
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
