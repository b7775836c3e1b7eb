"""Write one analysis back to the database in ONE transaction.

Inside that transaction, in order: check that the Job is still held by this worker (and not
cancelled), drop a previous Analysis with the same aid (its MEASURED edges go with it), create
the Analysis linked to its Graph, set the Graph's headline metrics, create one MEASURED
{nfd, mass} edge per neuron, and mark the Job done. Either all of it commits or none of it.

The transaction runs as a managed write (retried on transient errors such as ArcadeDB's
optimistic-concurrency conflicts), so its function must be repeatable: it is, since it starts
by deleting what it is about to create.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

from neuromfa.analysis.results import EngineOutput
from neuromfa.base.errors import AnalysisError, NeuromfaError
from neuromfa.schema.params import AnalysisParams
from neuromfa.schema.records import AnalysisRecord, neuron_uid, now_iso
from neuromfa.schema.snin import SNIN
from neuromfa.store.statements import cypher

MEASURED_BATCH = 10_000

# Test hook: seconds to sleep inside the write-back transaction, after every result is written
# and before the commit (tests kill the worker there to show that nothing partial remains).
PAUSE_ENV = "NEUROMFA_WRITEBACK_PAUSE"


class JobLost(NeuromfaError):
    """The job was cancelled, or requeued and taken by another worker, before its write-back."""

    def __init__(self, message: str, status: str):
        super().__init__(message)
        self.status = status


def _null_fields(out: EngineOutput) -> dict:
    n = out.null
    if n is None:
        return {}
    return {"null": n.kind, "null_samples": n.samples, "null_alpha0": n.alpha0, "null_width": n.width,
            "null_alpha0_mean": n.alpha0_mean, "null_alpha0_std": n.alpha0_std,
            "null_width_mean": n.width_mean, "null_width_std": n.width_std,
            "alpha0_z": n.alpha0_z, "width_z": n.width_z}


def analysis_record(gid: str, params: AnalysisParams, out: EngineOutput, *, seconds_pull: float = 0.0) -> AnalysisRecord:
    s = out.spectrum
    return AnalysisRecord(
        aid=params.analysis_id(gid), graph=gid, mode=params.mode, threshold=params.threshold,
        params=params.model_dump_json(), q=s.q, tau=s.tau, alpha=s.alpha, f=s.f, r2=s.r2,
        alpha0=s.alpha0, width=s.width, nodes_used=s.nodes_used, edges_used=s.edges_used,
        passed_filter=s.passed_filter, band=params.band, seconds_pull=seconds_pull,
        seconds_compute=out.seconds_compute, **_null_fields(out),
    )


def measured_rows(snin: SNIN, gid: str, out: EngineOutput) -> list[list]:
    """[neuron uid, nfd or None, mass N_i(T)] per node, in node-position order."""
    if len(out.nfd) != snin.n_nodes:
        raise AnalysisError(f"engine returned {len(out.nfd)} node values for {snin.n_nodes} nodes of {gid}")
    uids = [neuron_uid(gid, layer, index) for layer, index in zip(snin.layer.tolist(), snin.index.tolist())]
    nfd = np.where(np.isnan(out.nfd), None, out.nfd).tolist()  # NaN -> null (ineligible)
    return list(zip(uids, nfd, np.asarray(out.mass_T, dtype=np.int64).tolist()))


def job_lost(jid: str, status: str | None) -> JobLost:
    """The error of a worker that no longer holds job ``jid`` (now ``status``; None: deleted)."""
    if status is None:
        return JobLost(f"job {jid} was deleted; its results were not written", "missing")
    if status == "cancelled":
        return JobLost(f"job {jid} was cancelled; its results were not written", "cancelled")
    return JobLost(f"job {jid} was taken over by another worker (now {status}); "
                   "its results were not written by this one", status)


def _check_job(tx, jid: str, token: str) -> None:
    row = tx.run(cypher("writeback_check"), jid=jid, token=token).single()
    if row is None or row["status"] != "running" or row["claim"] != token:
        raise job_lost(jid, row["status"] if row else None)


def _pause(jid: str | None) -> None:
    seconds = os.environ.get(PAUSE_ENV)
    if seconds:
        print(f"neuromfa: write-back of job {jid} paused for {seconds} s", file=sys.stderr, flush=True)
        time.sleep(float(seconds))


def write_back(store, record: AnalysisRecord, rows: list[list], *, jid: str | None = None,
               token: str | None = None) -> float:
    """Store ``record`` and its per-neuron ``rows`` (and finish job ``jid`` held with ``token``)
    in one transaction. Returns the seconds spent in it. Raises JobLost when the job is no
    longer this worker's; then nothing is written."""
    start = time.perf_counter()

    def work(tx) -> None:
        t0 = time.perf_counter()
        if jid is not None:
            _check_job(tx, jid, token or "")
        tx.run(cypher("analysis_delete"), aid=record.aid).consume()
        created = tx.run(cypher("analysis_create"), **record.model_dump()).single()
        if created is None:
            raise AnalysisError(f"graph {record.graph!r} was deleted before its analysis could be stored")
        matched = 0
        for lo in range(0, len(rows), MEASURED_BATCH):
            matched += tx.run(cypher("measured_create"), aid=record.aid, rows=rows[lo:lo + MEASURED_BATCH]).single()["n"]
        if matched != len(rows):
            raise AnalysisError(f"graph {record.graph!r} has {matched} of the {len(rows)} analysed neurons",
                                "the stored graph changed during the analysis; re-ingest it and retry")
        tx.run(cypher("analysis_write_time"), aid=record.aid, seconds=time.perf_counter() - t0).consume()
        if jid is not None:
            tx.run(cypher("job_done"), jid=jid, aid=record.aid, now=now_iso()).consume()
        _pause(jid)

    store.run_in_write_tx(work)
    return time.perf_counter() - start
