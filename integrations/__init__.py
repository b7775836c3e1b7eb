"""Live NeuroMFA metrics during training: a plain-PyTorch hook and a transformers TrainerCallback.

    from neuromfa.integrations import LiveMFA, NeuroMFACallback
"""

from neuromfa.integrations.live import LiveAnalyzer, LiveMetrics, SampleAnalysis
from neuromfa.integrations.torch_hook import LiveMFA
from neuromfa.integrations.trainer import NeuroMFACallback

__all__ = ["LiveAnalyzer", "LiveMFA", "LiveMetrics", "NeuroMFACallback", "SampleAnalysis"]
