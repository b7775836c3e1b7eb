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

from neuromfa.base.errors import ModelError
from neuromfa.ingest.readers_torch import TorchTensorsSource
from neuromfa.ingest.source import ModelConfig

if TYPE_CHECKING:
    import torch


class StateDictSource(TorchTensorsSource):
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
