"""Find the checkpoints under a path: one model, or a training run of step-named folders.

A run directory holds subfolders ``stepN`` (Pythia style) or ``checkpoint-N`` (transformers
Trainer); each is one checkpoint at step N. Where a folder has such subfolders it is a run
(even if it also holds a final model at its root). A checkpoint folder may hold
``metrics.json``: a JSON object of metric name -> number (e.g. val_loss, token_accuracy).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import NamedTuple

from neuromfa.base.errors import ConfigError, ModelError, NotFoundError
from neuromfa.ingest.readers import WEIGHT_HINT, is_model_path
from neuromfa.training.metrics_file import METRICS_FILE

STEP_DIR = re.compile(r"^(?:step|checkpoint-)(\d+)$")


def read_metrics(path: str | Path) -> dict[str, float]:
    """The checkpoint's metrics.json ({} if there is none). ``path``: checkpoint folder or file."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    f = folder / METRICS_FILE
    if not f.is_file():
        return {}
    try:
        data = json.loads(f.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{f} is not valid JSON ({exc})", hint="fix or remove the metrics file") from exc
    if not isinstance(data, dict):
        raise ModelError(f"{f} must hold a JSON object of metric -> number", hint='e.g. {"val_loss": 3.2}')
    out: dict[str, float] = {}
    for key, value in data.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ModelError(f"{f}: metric {key!r} is {value!r}, not a finite number", hint="metrics.json maps names to numbers")
        out[str(key)] = float(value)
    return out


class CheckpointRef(NamedTuple):
    """One checkpoint: its training step and the path to open with ``open_model``."""

    step: int
    path: Path

    @property
    def metrics(self) -> dict[str, float]:
        return read_metrics(self.path)


def _step_dirs(path: Path) -> list[CheckpointRef]:
    found: dict[int, Path] = {}
    for child in path.iterdir():
        m = STEP_DIR.match(child.name)
        if m and child.is_dir():
            step = int(m.group(1))
            if step in found:
                raise ModelError(
                    f"step {step} appears twice in {path} ({found[step].name} and {child.name})",
                    hint="keep one folder per step",
                )
            found[step] = child
    return [CheckpointRef(s, found[s]) for s in sorted(found)]


def discover_checkpoints(path: str | Path, step: int | None = None) -> list[CheckpointRef]:
    """Checkpoints under ``path``, sorted by step.

    A model (directory or file) is one checkpoint at ``step`` (default 0). A run directory
    gives every ``stepN`` / ``checkpoint-N`` subfolder, or only step ``step`` where given.
    """
    path = Path(path).expanduser()
    if step is not None and step < 0:
        raise ConfigError(f"step must be >= 0, got {step}")
    if not path.exists():
        raise ModelError(f"{path} does not exist", hint=WEIGHT_HINT)
    runs = _step_dirs(path) if path.is_dir() else []
    if runs:
        if step is None:
            return runs
        chosen = [c for c in runs if c.step == step]
        if not chosen:
            raise NotFoundError(
                f"no checkpoint for step {step} in {path}",
                hint=f"available steps: {', '.join(str(c.step) for c in runs[:20])}{' ...' if len(runs) > 20 else ''}",
            )
        return chosen
    if is_model_path(path):
        return [CheckpointRef(0 if step is None else step, path)]
    raise ModelError(f"no model or checkpoints found in {path}", hint=WEIGHT_HINT)
