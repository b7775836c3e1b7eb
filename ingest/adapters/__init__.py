"""Architecture adapters: each family's weight matrices mapped onto the shared chain of layer
kinds (base.py explains the reading), and the registry of model_type -> adapter (registry.py).

    adapter_for(source) -> Adapter            the registered adapter for source.config["model_type"]
    register_adapter(cls, model_types=...)    add one in-process (or an entry point in the
                                              group "neuromfa.adapters")
    SplitQKVAdapter / FusedQKVAdapter         bases a new family usually needs no more than
"""

from neuromfa.ingest.adapters.base import Adapter, AttentionShape, ModelFacts, config_value
from neuromfa.ingest.adapters.common import BlockAdapter, FusedQKVAdapter, QKVRows, SplitQKVAdapter, per_head_rows
from neuromfa.ingest.adapters.encoders import BertAdapter
from neuromfa.ingest.adapters.falcon import FalconAdapter
from neuromfa.ingest.adapters.gpt2 import GPT2Adapter
from neuromfa.ingest.adapters.gptj import GPTJAdapter
from neuromfa.ingest.adapters.llama import GemmaAdapter, LlamaAdapter, StableLmAdapter
from neuromfa.ingest.adapters.neox import GPTNeoXAdapter
from neuromfa.ingest.adapters.opt import OPTAdapter
from neuromfa.ingest.adapters.phi import Phi3Adapter, PhiAdapter
from neuromfa.ingest.adapters.registry import (
    BUILTIN,
    ENTRY_POINT_GROUP,
    SUPPORTED,
    adapter_class,
    adapter_for,
    register_adapter,
    supported_model_types,
)

ADAPTERS = BUILTIN  # the built-in adapter classes (older name)

__all__ = [
    "ADAPTERS",
    "BUILTIN",
    "ENTRY_POINT_GROUP",
    "SUPPORTED",
    "Adapter",
    "AttentionShape",
    "BertAdapter",
    "BlockAdapter",
    "FalconAdapter",
    "FusedQKVAdapter",
    "GPT2Adapter",
    "GPTJAdapter",
    "GPTNeoXAdapter",
    "GemmaAdapter",
    "LlamaAdapter",
    "ModelFacts",
    "OPTAdapter",
    "Phi3Adapter",
    "PhiAdapter",
    "QKVRows",
    "SplitQKVAdapter",
    "StableLmAdapter",
    "adapter_class",
    "adapter_for",
    "config_value",
    "per_head_rows",
    "register_adapter",
    "supported_model_types",
]
