"""A transformers TrainerCallback: live alpha_0, width and E in the trainer's logs.

Every ``every`` optimizer steps it analyses the model in process (LiveMFA) and asks the trainer
to log; its ``on_log`` adds the values (``neuromfa/alpha0``, ``neuromfa/width``, ``neuromfa/E``,
...) to that step's logs and to ``state.log_history``. The reporting callbacks (TensorBoard,
W&B) read the same ``logs`` dict in the order the callbacks are listed, and the Trainer puts
callbacks passed to it after its own: ``attach(trainer)`` places this one first, so they see
the values. The evaluation at the start of training (step 0: E's reference, E = 0) is added to
``state.log_history`` only, since no log event happens there.
"""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback

from neuromfa.integrations.live import LiveMetrics
from neuromfa.integrations.torch_hook import LiveMFA


class NeuroMFACallback(TrainerCallback):
    """Live NeuroMFA for a transformers Trainer. Keywords as LiveMFA's (every, samples, k,
    mode, null, store, name, ...); ``prefix`` names the logged values."""

    def __init__(self, every: int = 50, *, prefix: str = "neuromfa/", **analyzer: Any):
        self.live = LiveMFA(every, **analyzer)
        self.prefix = prefix
        self._pending: LiveMetrics | None = None

    @property
    def history(self) -> list[LiveMetrics]:
        return self.live.history

    def attach(self, trainer: Any) -> Any:
        """Put this callback first in ``trainer``'s callbacks (before TensorBoard and W&B); returns the trainer."""
        callbacks = trainer.callback_handler.callbacks
        if self in callbacks:
            callbacks.remove(self)
        callbacks.insert(0, self)
        return trainer

    def _evaluate(self, state: Any, model: Any) -> LiveMetrics | None:
        if model is None or not state.is_world_process_zero or not self.live.due(state.global_step):
            return None
        if self.history and self.history[-1].step == state.global_step:
            return None  # evaluated at this step already (a resumed run's first step)
        return self.live.evaluate(state.global_step, model)

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        live = self._evaluate(state, model)
        if live is not None:
            state.log_history.append({**live.logs(self.prefix), "step": live.step})

    def on_step_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> Any:
        live = self._evaluate(state, model)
        if live is not None:
            self._pending = live
            control.should_log = True
        return control

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        live, self._pending = self._pending, None
        if live is None or live.step != state.global_step:
            return
        values = live.logs(self.prefix)
        if logs is not None:
            logs.update(values)
        last = state.log_history[-1] if state.log_history else None
        if last is not None and last.get("step") == live.step:
            last.update(values)
        else:
            state.log_history.append({**values, "step": live.step})
