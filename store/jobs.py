"""The jobs aggregate: (:Job) nodes, one analysis of one graph each, and every state change.

Every change is one lock-then-check statement (store/cypher/job_*.cypher): its first SET
write-locks the Job on Neo4j, and on ArcadeDB two concurrent changes of one Job conflict at
commit and the driver retries the loser, which then sees the new state. A statement that finds
the Job no longer as expected changes nothing and returns no row: the methods here say so with
False (or None). The queue logic around them (who may do what, and when) is `neuromfa.jobs.queue`.

Statements: job_create, job_get, job_list, job_queued, job_claim, job_heartbeat, job_fail,
job_release, job_cancel, job_reclaim, job_requeue; writeback_check and job_done run inside the
write-back transaction (`check_held`, `finish`, used by store/analyses.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from neuromfa.base.errors import NeuromfaError
from neuromfa.schema.params import AnalysisParams
from neuromfa.schema.records import JobRecord, JobStatus, now_iso
from neuromfa.store.named import NamedStore, NamedTx


class JobInfo(JobRecord):
    """A Job as read back: the record plus the liveness fields the queue keeps."""

    heartbeat: str | None = None
    claim: str | None = None
    active_key: str | None = None

    @property
    def analysis_params(self) -> AnalysisParams:
        return AnalysisParams.model_validate_json(self.params)

    @property
    def mode(self) -> str:
        try:
            mode = json.loads(self.params).get("mode", "")
        except ValueError:
            return ""
        return mode if isinstance(mode, str) else ""


class NewJob(BaseModel):
    """One job to queue: its record's fields and ``key``, the active_key it takes (its analysis id)."""

    jid: str
    kind: str
    graph: str
    params: str
    created: str
    key: str

    @classmethod
    def of(cls, record: JobRecord, key: str) -> NewJob:
        return cls(**record.model_dump(include={"jid", "kind", "graph", "params", "created"}), key=key)


class Enqueued(BaseModel):
    """The job a graph has after an enqueue: ``created`` False when an active one was there already."""

    graph: str
    jid: str
    created: bool


class JobLost(NeuromfaError):
    """The job was cancelled, or requeued and taken by another worker, before its write-back."""

    def __init__(self, message: str, status: str):
        super().__init__(message)
        self.status = status


def job_lost(jid: str, status: str | None) -> JobLost:
    """The error of a worker that no longer holds job ``jid`` (now ``status``; None: deleted)."""
    if status is None:
        return JobLost(f"job {jid} was deleted; its results were not written", "missing")
    if status == "cancelled":
        return JobLost(f"job {jid} was cancelled; its results were not written", "cancelled")
    return JobLost(f"job {jid} was taken over by another worker (now {status}); "
                   "its results were not written by this one", status)


def check_held(tx: NamedTx, jid: str, token: str) -> None:
    """Inside the write-back, first: JobLost unless job ``jid`` is running under claim ``token``."""
    rows = tx.run_named("writeback_check", jid=jid, token=token)
    row = rows[0] if rows else None
    if row is None or row["status"] != "running" or row["claim"] != token:
        raise job_lost(jid, row["status"] if row else None)


def finish(tx: NamedTx, jid: str, aid: str) -> None:
    """Inside the write-back, last: job ``jid`` is done with analysis ``aid``, its key free."""
    tx.run_named("job_done", jid=jid, aid=aid, now=now_iso())


def _optional(values: Sequence[Any] | None) -> list[Any] | None:
    return list(values) if values is not None else None


class JobRepository:
    """Stored jobs: create, read, and each state change. ``token`` is the caller's random lock
    value (for claim, heartbeat, fail and release also the claim it holds the job with)."""

    def __init__(self, store: NamedStore):
        self.store = store

    # -- creating and reading --------------------------------------------------------------
    def create(self, jobs: Sequence[NewJob]) -> list[Enqueued]:
        """MERGE one queued Job per row on its active key; a key an active job holds gets that
        job back. On ArcadeDB a concurrent enqueue of the same key raises ConstraintViolation
        (the caller retries; the MERGE then finds the job)."""
        rows = self.store.write_named("job_create", rows=[j.model_dump() for j in jobs])
        return [Enqueued(**r) for r in rows]

    def find(self, jid: str) -> JobInfo | None:
        rows = self.store.read_named("job_get", jid=jid)
        return JobInfo(**rows[0]) if rows else None

    def list_jobs(self, *, statuses: Sequence[JobStatus] | None = None, jids: Sequence[str] | None = None,
             prefix: str | None = None, limit: int = 1000) -> list[JobInfo]:
        """Jobs newest first; each filter optional (``prefix``: of the graph id, e.g. 'model@')."""
        rows = self.store.read_named("job_list", statuses=_optional(statuses), jids=_optional(jids),
                                     prefix=prefix, limit=int(limit))
        return [JobInfo(**r) for r in rows]

    def queued(self, limit: int = 20) -> list[str]:
        """Ids of the oldest queued jobs, oldest first."""
        return [r["jid"] for r in self.store.read_named("job_queued", limit=int(limit))]

    # -- worker side -----------------------------------------------------------------------
    def claim(self, jid: str, token: str, worker: str) -> bool:
        """Take queued job ``jid`` under claim ``token``; False when it is not queued."""
        return bool(self.store.write_named("job_claim", jid=jid, token=token, worker=worker, now=now_iso()))

    def heartbeat(self, jid: str, token: str, progress: float) -> bool:
        """Refresh liveness and progress; False when ``token`` no longer holds the job."""
        return bool(self.store.write_named("job_heartbeat", jid=jid, token=token, progress=float(progress),
                                           now=now_iso()))

    def fail(self, jid: str, token: str, error: str) -> bool:
        """Record ``error`` on a job held with ``token`` (a cancelled job stays cancelled)."""
        return bool(self.store.write_named("job_fail", jid=jid, token=token, error=error, now=now_iso()))

    def release(self, jid: str, token: str) -> bool:
        """Put a job held with ``token`` back in the queue."""
        return bool(self.store.write_named("job_release", jid=jid, token=token))

    # -- user side and recovery ------------------------------------------------------------
    def cancel(self, jid: str, token: str, reason: str) -> bool:
        """Cancel a queued or running job; False when it had finished."""
        return bool(self.store.write_named("job_cancel", jid=jid, token=token, now=now_iso(), reason=reason))

    def reclaim(self, job: JobInfo, token: str, reason: str) -> bool:
        """Requeue running ``job`` only if it is still as read (same claim and heartbeat)."""
        return bool(self.store.write_named("job_reclaim", jid=job.jid, token=token, claim=job.claim or "",
                                           heartbeat=job.heartbeat or "", reason=reason))

    def requeue(self, job: JobInfo, token: str, key: str) -> bool:
        """A failed or cancelled ``job`` back to queued with active key ``key``, only if it is
        still as read (same status and claim). ConstraintViolation while another job holds ``key``."""
        return bool(self.store.write_named("job_requeue", jid=job.jid, token=token, status=job.status,
                                           claim=job.claim or "", key=key))
