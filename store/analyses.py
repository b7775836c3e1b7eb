"""The analyses aggregate: (:Analysis)-[:ANALYSIS_OF]->(:Graph) with its per-neuron MEASURED
edges; its write-back, and the rows the result tables and figures read.

The write-back is ONE transaction. In order: check that the Job is still held by this worker
(and not cancelled), drop a previous Analysis with the same aid (its MEASURED edges go with it),
create the Analysis linked to its Graph and set the Graph's headline metrics, create one
MEASURED {nfd, mass} edge per neuron, record the write time, and mark the Job done. Either all
of it commits or none of it. It runs as a managed write (retried on transient errors such as
ArcadeDB's optimistic-concurrency conflicts), so it must be repeatable: it is, since it starts
by deleting what it is about to create.

Statements: analysis_delete, analysis_create, measured_create, analysis_write_time (the
write-back, opened by the jobs aggregate's writeback_check and closed by its job_done:
store/jobs.py); results_rows, spectra_rows, nfd_rows, analyses_present.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Literal

from pydantic import BaseModel

from neuromfa.base.errors import AnalysisError
from neuromfa.schema.records import AnalysisRecord, MeasuredRow, Mode
from neuromfa.store.jobs import JobLost, check_held, finish
from neuromfa.store.named import NamedStore, NamedTx

MEASURED_BATCH = 10_000

__all__ = ["AnalysisRepository", "JobLost", "NfdRow", "ResultRow", "SpectrumRow"]


class ResultRow(BaseModel):
    """One Graph of a model with one of its analyses (all analysis fields None: unanalysed)."""

    gid: str
    step: int
    sample: int
    headline: str | None = None  # the aid of the Graph's headline analysis
    aid: str | None = None
    mode: Mode | None = None
    threshold: float | None = None
    params: str | None = None
    alpha0: float | None = None
    width: float | None = None
    r2: list[float | None] | None = None
    nodes_used: int | None = None
    edges_used: int | None = None
    passed_filter: bool | None = None
    band: Literal["absolute", "relative"] | None = None
    null: Literal["shuffle", "gaussian"] | None = None
    null_alpha0_mean: float | None = None
    null_width_mean: float | None = None
    null_alpha0_std: float | None = None
    null_width_std: float | None = None
    alpha0_z: float | None = None
    width_z: float | None = None
    seconds_pull: float | None = None
    seconds_compute: float | None = None
    seconds_write: float | None = None
    created: str | None = None


class SpectrumRow(BaseModel):
    """The f(alpha) curve of one analysis of one Graph."""

    gid: str
    step: int
    sample: int
    headline: str | None
    aid: str
    mode: Mode
    alpha: list[float]
    f: list[float]
    created: str


class NfdRow(BaseModel):
    """One measured neuron: its layer kind and block, NFD (None: ineligible) and mass N_i(T)."""

    kind: str
    block: int
    nfd: float | None
    mass: int


class AnalysisRepository:
    """Stored analyses: the write-back and the rows of tables and figures."""

    def __init__(self, store: NamedStore):
        self.store = store

    def write_back(self, record: AnalysisRecord, rows: Sequence[MeasuredRow], *, jid: str | None = None,
                   token: str | None = None, on_commit: Callable[[], None] | None = None) -> float:
        """Store ``record`` and its per-neuron ``rows`` (and finish job ``jid`` held with
        ``token``) in one transaction. ``on_commit`` runs inside it, after everything is
        written and just before the commit. Returns the seconds spent. Raises JobLost when
        the job is no longer this worker's; then nothing is written."""
        start = time.perf_counter()

        def work(tx: NamedTx) -> None:
            t0 = time.perf_counter()
            if jid is not None:
                check_held(tx, jid, token or "")
            tx.run_named("analysis_delete", aid=record.aid)
            if not tx.run_named("analysis_create", **record.model_dump()):
                raise AnalysisError(f"graph {record.graph!r} was deleted before its analysis could be stored")
            matched = sum(tx.run_named("measured_create", aid=record.aid,
                                       rows=list(rows[lo:lo + MEASURED_BATCH]))[0]["n"]
                          for lo in range(0, len(rows), MEASURED_BATCH))
            if matched != len(rows):
                raise AnalysisError(f"graph {record.graph!r} has {matched} of the {len(rows)} analysed neurons",
                                    "the stored graph changed during the analysis; re-ingest it and retry")
            tx.run_named("analysis_write_time", aid=record.aid, seconds=time.perf_counter() - t0)
            if jid is not None:
                finish(tx, jid, record.aid)
            if on_commit is not None:
                on_commit()

        self.store.run_in_write_tx_named(work)
        return time.perf_counter() - start

    def results(self, model: str, steps: Sequence[int] | None = None) -> list[ResultRow]:
        """Every Graph of ``model`` (only ``steps`` when given) with each of its analyses."""
        return [ResultRow(**r) for r in self.store.read_named(
            "results_rows", model=model, steps=list(steps) if steps is not None else None)]

    def spectra(self, model: str, mode: str | None = None) -> list[SpectrumRow]:
        """The f(alpha) of every analysis of ``model`` (in ``mode`` when given), oldest first."""
        return [SpectrumRow(**r) for r in self.store.read_named("spectra_rows", model=model, mode=mode)]

    def nfd(self, aids: Sequence[str]) -> list[NfdRow]:
        """Every neuron measured by the analyses ``aids``."""
        rows = self.store.read_named("nfd_rows", aids=list(aids))
        return [NfdRow(**r) for r in rows[0]["rows"]] if rows else []

    def present(self, aids: Sequence[str]) -> set[str]:
        """Which of ``aids`` are stored."""
        rows = self.store.read_named("analyses_present", aids=list(aids))
        return set(rows[0]["aids"]) if rows else set()
