"""Live NeuroMFA metrics during training: a plain-PyTorch hook and a transformers TrainerCallback.

    from neuromfa.integrations import LiveMFA, NeuroMFACallback

Names are imported on first use, so ``neuromfa.integrations.live`` (the in-process analysis
that ``analyze --no-db`` uses) does not import transformers' Trainer.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from neuromfa.integrations.live import LiveAnalyzer, LiveMetrics, SampleAnalysis
    from neuromfa.integrations.torch_hook import LiveMFA
    from neuromfa.integrations.trainer import NeuroMFACallback

_WHERE = {"LiveAnalyzer": "live", "LiveMetrics": "live", "SampleAnalysis": "live", "LiveMFA": "torch_hook",
          "NeuroMFACallback": "trainer"}
__all__ = ["LiveAnalyzer", "LiveMFA", "LiveMetrics", "NeuroMFACallback", "SampleAnalysis"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'neuromfa.integrations' has no attribute {name!r}")
    return getattr(importlib.import_module(f"neuromfa.integrations.{_WHERE[name]}"), name)
