"""Ingest: model files -> sampled neuron interaction networks (SNIN) -> the graph database.

Database-free part (importing it loads neither torch nor transformers; readers load them
when a format needs them):

    open_model(path) -> TensorSource            readers (safetensors, pytorch .bin, GGUF)
    discover_checkpoints(path, step) -> [CheckpointRef(step, path)] (+ .metrics)
    adapter_for(source) -> Adapter (.facts: ModelFacts)
    register_adapter(cls) -> cls                adds an adapter for cls.model_types (or an entry
                                                point in the group "neuromfa.adapters")
    draws_for_sample(sizes, blocks, sample=, k=, seed_base=) -> Draws
    build_snin(source, adapter, draws, gid) -> SNIN;  snin_for_checkpoint(path, sample=, ...)
"""

from neuromfa.ingest.adapters import SUPPORTED, Adapter, ModelFacts, adapter_for, register_adapter
from neuromfa.ingest.build import build_snin, snin_for_checkpoint
from neuromfa.ingest.checkpoints import CheckpointRef, discover_checkpoints, read_metrics
from neuromfa.ingest.readers import open_model
from neuromfa.ingest.sampler import Draws, LayerSizes, draws_for_sample, sample_draws
from neuromfa.ingest.source import TensorSource

__all__ = [
    "SUPPORTED",
    "Adapter",
    "CheckpointRef",
    "Draws",
    "LayerSizes",
    "ModelFacts",
    "TensorSource",
    "adapter_for",
    "build_snin",
    "discover_checkpoints",
    "draws_for_sample",
    "open_model",
    "read_metrics",
    "register_adapter",
    "sample_draws",
    "snin_for_checkpoint",
]
