"""What the training experiments share: the analyses each stored model gets (the demo's three,
each beside its shuffle null), running them as jobs, and the tables they print."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
from pydantic import BaseModel

from neuromfa.base.errors import AnalysisError, action
from neuromfa.jobs.executors import LocalExecutor
from neuromfa.jobs.queue import enqueue
from neuromfa.jobs.worker import JobOutcome
from neuromfa.results.tables import emergence_frame, graphs_of
from neuromfa.schema.params import AnalysisParams
from neuromfa.store.analyses import AnalysisRepository
from neuromfa.store.connection import Store

NULL_SAMPLES = 5
# (name, parameters): path masses in the paper's band and in the scale-free relative band, and
# the authors' one-hop procedure, as the demo runs them. `layered` is shortest-path bit for bit.
ANALYSES: tuple[tuple[str, AnalysisParams], ...] = (
    ("paths", AnalysisParams(mode="layered", null="shuffle", null_samples=NULL_SAMPLES)),
    ("paths, relative band", AnalysisParams(mode="layered", band="relative", null="shuffle", null_samples=NULL_SAMPLES)),
    ("one-hop", AnalysisParams(mode="one-hop", null="shuffle", null_samples=NULL_SAMPLES)),
)
# the per-step columns an experiment prints, in this order (emergence_frame's names)
STEP_COLUMNS = ("step", "val_loss", "alpha0_mean", "alpha0_null", "width_mean", "width_null", "E", "E_null", "E_struct")
BASELINE_COLUMNS = ("log_rms", "log_norm", "log_spectral_norm")

OutcomeFn = Callable[[JobOutcome], None]


class StepTable(BaseModel):
    """One analysis of one model, one row per step (STEP_COLUMNS and the baselines stored)."""

    model: str
    analysis: str
    mode: str
    band: str
    rows: list[dict[str, Any]]


def analyse(store: Store, models: Sequence[str], analyses: Sequence[tuple[str, AnalysisParams]] = ANALYSES, *,
            workers: int = 1, on_outcome: OutcomeFn | None = None) -> int:
    """Run every analysis that a stored graph of ``models`` lacks, all as jobs of one executor
    (one pool of ``workers`` local processes: each pool start imports torch anew); returns how
    many ran. A job that does not finish is an AnalysisError."""
    gids = [g.gid for model in models for g in graphs_of(store, model)]
    jids: list[str] = []
    for _, params in analyses:
        have = AnalysisRepository(store).present([params.analysis_id(g) for g in gids])
        todo = [g for g in gids if params.analysis_id(g) not in have]
        created, reused = enqueue(store, todo, params)
        jids += created + reused
    failed: list[JobOutcome] = []
    for outcome in LocalExecutor(workers, store.settings).run(jids):
        if on_outcome:
            on_outcome(outcome)
        if outcome.status != "done":
            failed.append(outcome)
    if failed:
        first = failed[0]
        raise AnalysisError(f"{len(failed)} of {len(jids)} analyses of {', '.join(map(repr, models))} did not finish "
                            f"(job {first.jid} of graph {first.graph}: {first.status}{': ' + first.error if first.error else ''})",
                            f"see the jobs ({action('jobs', status='failed')}) and run the experiment again")
    return len(jids)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def step_table(store: Store, model: str, name: str, params: AnalysisParams,
               reference_step: int | None = None) -> StepTable:
    """The per-step table of one analysis of ``model`` (E from ``reference_step``, default the
    first step), with the checkpoint baselines where ingest stored them."""
    frame: pd.DataFrame = emergence_frame(store, model, params=params, reference_step=reference_step)
    columns = [c for c in (*STEP_COLUMNS, *BASELINE_COLUMNS) if c in frame.columns]
    rows = [{k: _clean(v) for k, v in r.items()} for r in frame[columns].to_dict("records")]
    return StepTable(model=model, analysis=name, mode=params.mode, band=params.band, rows=rows)
