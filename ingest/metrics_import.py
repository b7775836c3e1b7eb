"""Attach external per-step scores (a CSV/JSON metrics file) to a model's Checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from neuromfa.analysis.tables import checkpoint_metrics
from neuromfa.base.errors import NotFoundError
from neuromfa.store.statements import cypher
from neuromfa.training.metrics_file import MetricRow, read_metrics_file


class MetricsImport(BaseModel):
    model: str
    steps_updated: list[int]
    steps_missing: list[int]
    metrics: list[str]
    values: int


def attach_metrics(store, model: str, rows: list[MetricRow]) -> MetricsImport:
    """Merge ``rows`` into Checkpoint.metrics (new values win) in one transaction. Steps with no
    stored Checkpoint are reported, not created; none matching at all is an error."""
    current = checkpoint_metrics(store, model).set_index("step")
    if len(current.index) == 0:
        raise NotFoundError(f"model {model!r} has no stored checkpoints",
                            f"ingest it first (`neuromfa ingest PATH --name {model}`)")
    merged: dict[int, dict[str, float]] = {}
    for r in rows:
        if r.step in current.index:
            base = merged.setdefault(r.step, current.loc[r.step].dropna().to_dict())
            base[r.metric] = r.value
    missing = sorted({r.step for r in rows} - set(merged))
    if not merged:
        raise NotFoundError(
            f"none of the {len(missing)} step(s) in the file is a stored checkpoint of {model!r}",
            f"stored steps: {', '.join(map(str, current.index[:20]))}",
        )
    payload = [[step, json.dumps(values, sort_keys=True)] for step, values in sorted(merged.items())]
    store.write(cypher("checkpoint_set_metrics"), model=model, rows=payload)
    return MetricsImport(model=model, steps_updated=sorted(merged), steps_missing=missing,
                         metrics=sorted({r.metric for r in rows}),
                         values=sum(1 for r in rows if r.step in merged))


def import_metrics_file(store, path: str | Path, model: str) -> MetricsImport:
    return attach_metrics(store, model, read_metrics_file(path))
