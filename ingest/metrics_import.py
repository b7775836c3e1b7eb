"""Attach external per-step scores (a CSV/JSON metrics file) to a model's Checkpoints."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from neuromfa.base.errors import NotFoundError, action
from neuromfa.store.models import ModelRepository
from neuromfa.store.named import NamedStore
from neuromfa.training.metrics_file import MetricRow, read_metrics_file


class MetricsImport(BaseModel):
    model: str
    steps_updated: list[int]
    steps_missing: list[int]
    metrics: list[str]
    values: int


def attach_metrics(store: NamedStore, model: str, rows: list[MetricRow]) -> MetricsImport:
    """Merge ``rows`` into Checkpoint.metrics (new values win) in one transaction. Steps with no
    stored Checkpoint are reported, not created; none matching at all is an error."""
    repo = ModelRepository(store)
    current = {c.step: c.metrics for c in repo.checkpoint_metrics(model)}
    if not current:
        raise NotFoundError(f"model {model!r} has no stored checkpoints",
                            f"ingest it first ({action('ingest', path=None, name=model)})")
    merged: dict[int, dict[str, float]] = {}
    for r in rows:
        if r.step in current:
            merged.setdefault(r.step, dict(current[r.step]))[r.metric] = r.value
    missing = sorted({r.step for r in rows} - set(merged))
    if not merged:
        raise NotFoundError(
            f"none of the {len(missing)} step(s) in the file is a stored checkpoint of {model!r}",
            f"stored steps: {', '.join(map(str, list(current)[:20]))}",
        )
    repo.set_metrics(model, merged)
    return MetricsImport(model=model, steps_updated=sorted(merged), steps_missing=missing,
                         metrics=sorted({r.metric for r in rows}),
                         values=sum(1 for r in rows if r.step in merged))


def import_metrics_file(store: NamedStore, path: str | Path, model: str) -> MetricsImport:
    return attach_metrics(store, model, read_metrics_file(path))
