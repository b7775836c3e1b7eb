"""A plain-PyTorch hook: call it once per optimizer step; every ``every`` steps (step 0
included, the reference of E) it analyses the live model's weights in process."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from neuromfa.ingest.memory import StateDictSource
from neuromfa.integrations.live import LiveAnalyzer, LiveMetrics, check_every


class LiveMFA:
    """``hook(step, model)`` in a training loop, at the point where a checkpoint of ``step``
    would be saved (before that step's update). Returns the LiveMetrics of an evaluation
    step, else None; ``on_metrics`` hears each one. Every other keyword goes to LiveAnalyzer
    (name, samples, k, seed_base, topology, params or mode/threshold/band/null/null_samples,
    store, device)."""

    def __init__(self, every: int = 50, *, on_metrics: Callable[[LiveMetrics], None] | None = None, **analyzer: Any):
        self.every = check_every(every)
        self.on_metrics = on_metrics
        self.analyzer = LiveAnalyzer(**analyzer)

    @property
    def history(self) -> list[LiveMetrics]:
        return self.analyzer.history

    def due(self, step: int) -> bool:
        return step % self.every == 0

    def evaluate(self, step: int, model: Any, metrics: dict[str, float] | None = None) -> LiveMetrics:
        """Analyse ``model`` now, whatever the step."""
        live = self.analyzer.evaluate(StateDictSource.of_model(model, label=f"{self.analyzer.name} at step {step}"),
                                      step, metrics)
        if self.on_metrics is not None:
            self.on_metrics(live)
        return live

    def __call__(self, step: int, model: Any) -> LiveMetrics | None:
        return self.evaluate(step, model) if self.due(step) else None
