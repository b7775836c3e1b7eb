"""The models and checkpoints aggregate: (:Model) and its (:Checkpoint)s, their sampling
settings and the checkpoints' metrics.

Statements: get_model, merge_model, merge_checkpoint, model_sampling, checkpoint_metrics,
checkpoint_set_metrics, checkpoint_baselines, checkpoint_set_baselines, checkpoint_set_peers,
checkpoint_baseline_matrices.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from neuromfa.base.errors import ConfigError, param
from neuromfa.schema.records import CheckpointBaselines, CheckpointRecord, MatrixBaseline, ModelRecord, PeerMetrics
from neuromfa.store.named import NamedStore, NamedTx, Row


class ModelSampling(BaseModel):
    """The k and seed bases already used for a model's graphs (empty: no graph yet)."""

    ks: list[int]
    seed_bases: list[int]


class StepMetrics(BaseModel):
    """The scalar metrics (a number per name) stored on one Checkpoint."""

    step: int
    metrics: dict[str, float]


class StepBaselines(BaseModel):
    """The weight-scale baselines and WeightWatcher peers stored on one Checkpoint (None where
    not computed); ``has_baselines`` / ``has_peers``: whether they were computed at all."""

    step: int
    log_rms: float | None = None
    log_norm: float | None = None
    log_spectral_norm: float | None = None
    ww_alpha: float | None = None
    ww_alpha_weighted: float | None = None
    ww_log_norm: float | None = None
    has_baselines: bool = False
    has_peers: bool = False


def same_shape(model: ModelRecord, row: Row | None) -> None:
    """ConfigError when the stored Model ``row`` (None: none yet) has another shape."""
    if row is None:
        return
    stored = (row["arch"], row["hidden"], row["blocks"])
    if stored != (model.arch, model.hidden, model.blocks):
        raise ConfigError(
            f"model name {model.name!r} is already used by a {stored[0]} model "
            f"(hidden {stored[1]}, {stored[2]} blocks), not this {model.arch} "
            f"(hidden {model.hidden}, {model.blocks} blocks)",
            f"ingest under another {param('name')}, or delete the stored model first",
        )


def merge_model(tx: NamedTx, model: ModelRecord) -> None:
    """Inside ``tx``: create the Model, or check that the stored one has the same shape."""
    rows = tx.run_named("merge_model", **model.model_dump())
    same_shape(model, rows[0] if rows else None)


def merge_checkpoint(tx: NamedTx, checkpoint: CheckpointRecord) -> None:
    """Inside ``tx``: create the Checkpoint once (its Model must exist)."""
    tx.run_named("merge_checkpoint", **checkpoint.model_dump())


def scalar_metrics(text: str | None) -> dict[str, float]:
    """The numeric entries of a Checkpoint.metrics JSON object ({} when it is not one)."""
    try:
        values: Any = json.loads(text or "{}")
    except ValueError:
        return {}
    if not isinstance(values, dict):
        return {}
    return {k: v for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


class ModelRepository:
    """Models and their checkpoints."""

    def __init__(self, store: NamedStore):
        self.store = store

    def get(self, name: str) -> ModelRecord | None:
        rows = self.store.read_named("get_model", name=name)
        return ModelRecord(**rows[0]) if rows else None

    def check_shape(self, model: ModelRecord) -> None:
        """Read-only: a stored Model of this name must have the same shape (nothing is written)."""
        rows = self.store.read_named("get_model", name=model.name)
        same_shape(model, rows[0] if rows else None)

    def ensure(self, model: ModelRecord) -> None:
        """Create the Model now or check that the stored one has the same shape."""
        self.store.run_in_write_tx_named(lambda tx: merge_model(tx, model))

    def merge_checkpoint(self, checkpoint: CheckpointRecord) -> None:
        """Create the Checkpoint once (its Model must exist)."""
        self.store.run_in_write_tx_named(lambda tx: merge_checkpoint(tx, checkpoint))

    def sampling(self, name: str) -> ModelSampling:
        return ModelSampling(**self.store.read_named("model_sampling", model=name)[0])

    def checkpoint_metrics(self, model: str) -> list[StepMetrics]:
        """Per stored Checkpoint of ``model``, by step: its scalar metrics."""
        return [StepMetrics(step=r["step"], metrics=scalar_metrics(r["metrics"]))
                for r in self.store.read_named("checkpoint_metrics", model=model)]

    def set_metrics(self, model: str, metrics: dict[int, dict[str, float]]) -> list[int]:
        """Replace Checkpoint.metrics of the given steps (one transaction); returns the steps
        that exist (the others are not created)."""
        rows = [{"step": step, "metrics": json.dumps(values, sort_keys=True)}
                for step, values in sorted(metrics.items())]
        return list(self.store.write_named("checkpoint_set_metrics", model=model, rows=rows)[0]["steps"])

    def baselines(self, model: str) -> list[StepBaselines]:
        """Per stored Checkpoint of ``model``, by step: its baselines and peers."""
        return [StepBaselines(**r) for r in self.store.read_named("checkpoint_baselines", model=model)]

    def set_baselines(self, model: str, step: int, baselines: CheckpointBaselines) -> bool:
        """Store the baselines on Checkpoint ``model``@``step`` (replacing any); False when that
        Checkpoint does not exist (nothing is created)."""
        matrices = json.dumps([m.model_dump() for m in baselines.matrices])
        rows = self.store.write_named("checkpoint_set_baselines", model=model, step=step, log_rms=baselines.log_rms,
                                      log_norm=baselines.log_norm, log_spectral_norm=baselines.log_spectral_norm,
                                      matrices=matrices)
        return bool(rows)

    def set_peers(self, model: str, step: int, peers: PeerMetrics) -> bool:
        """Store WeightWatcher's summary on Checkpoint ``model``@``step``; False when it does not exist."""
        return bool(self.store.write_named("checkpoint_set_peers", model=model, step=step, **peers.model_dump()))

    def baseline_matrices(self, model: str, step: int) -> list[MatrixBaseline] | None:
        """The per-matrix baselines of one Checkpoint (None: not computed or no such Checkpoint)."""
        rows = self.store.read_named("checkpoint_baseline_matrices", model=model, step=step)
        if not rows or rows[0]["matrices"] is None:
            return None
        return [MatrixBaseline(**m) for m in json.loads(rows[0]["matrices"])]
