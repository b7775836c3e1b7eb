"""The queue of analysis jobs: enqueue, claim, heartbeat, cancel, retry, fail, reclaim.

Lifecycle: queued -> running -> done | failed | cancelled; `retry` puts a failed, cancelled or
stale running job back to queued, and workers reclaim stale running jobs themselves. Every state change is one statement of the lock-then-check
form (`neuromfa.store.jobs.JobRepository`), so it is atomic on Neo4j (write lock) and on ArcadeDB
(optimistic: concurrent changes of one Job conflict at commit, the driver retries the loser,
which then sees the new state).

A worker holds a job through a random claim token; every later change (heartbeat, failure,
write-back) checks that token, so a worker that lost its job (cancelled, or requeued as stale
and taken by another) can never overwrite it.

At most one active (queued or running) job per (graph, parameters): an active Job carries
``active_key`` (the analysis id it will write), unique by constraint, removed when it finishes.
Enqueueing MERGEs on it, so concurrent `analyze` runs share one job (the server decides).

Stale running jobs (the worker died without saying so): a job is stale when its worker ran on
this host and its process no longer exists, or when its heartbeat is older than
``stale_after`` seconds (default STALE_AFTER_S, four heartbeats; workers beat every HEARTBEAT_S
while pulling and computing). A reclaim only takes a job still as it was judged (same claim,
same heartbeat). Correctness never depends on this judgement: a reclaimed job's old worker
fails its token check at write-back and leaves nothing.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal

import psutil
from pydantic import BaseModel

from neuromfa.base.errors import ConfigError, NotFoundError, action
from neuromfa.base.validation import validate
from neuromfa.schema.params import AnalysisParams
from neuromfa.schema.records import TOPOLOGIES, JobRecord, JobStatus, Mode
from neuromfa.store.analyses import AnalysisRepository
from neuromfa.store.connection import ConstraintViolation, Store
from neuromfa.store.jobs import JobInfo, JobRepository, NewJob

HEARTBEAT_S = 15.0
STALE_AFTER_S = 4 * HEARTBEAT_S  # four missed beats: gone (a live worker's beats may lag under load)
MAX_LIST_LIMIT = 100_000  # `jobs list --limit` at most
ENQUEUE_ATTEMPTS = 5  # a concurrent enqueue of the same key loses at commit; its retry finds the job
RetryStatus = Literal["failed", "cancelled", "stale"]
RETRY_STATUSES: tuple[RetryStatus, ...] = ("failed", "cancelled", "stale")
ACTIVE: tuple[JobStatus, ...] = ("queued", "running")
FINISHED: tuple[JobStatus, ...] = ("done", "failed", "cancelled")

__all__ = ["JobInfo"]  # re-exported: the record every caller of the queue reads


def new_jid() -> str:
    return uuid.uuid4().hex[:12]


def new_token() -> str:
    return uuid.uuid4().hex


def worker_id() -> str:
    """host:pid of this process (what `jobs retry` checks to see whether a worker is gone)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def parse_params(**values: Any) -> AnalysisParams:
    """AnalysisParams from user values (None = default); a bad value is one ConfigError line."""
    given = {k: v for k, v in values.items() if v is not None}
    return validate(AnalysisParams, "analysis parameters", **given)


# Topologies whose graphs are layer DAGs (every edge joins two layers, the layers form a DAG):
# reference edges go from layer L to L + 1, faithful ones also skip layers (residual, parallel
# MLP). The layered mode is exact on them (the same masses as shortest-path) and several times faster.
LAYER_DAG_TOPOLOGIES: frozenset[str] = frozenset(TOPOLOGIES)


def default_mode(topologies: Iterable[str]) -> Mode:
    """The mode when none is chosen: layered where every graph is a layer DAG, else the
    reference shortest-path (one mode for all, so a model's analyses stay one parameter set)."""
    return "layered" if all(t in LAYER_DAG_TOPOLOGIES for t in topologies) else "shortest-path"


def analysed(store: Store, gids: Iterable[str], params: AnalysisParams) -> set[str]:
    """Which of ``gids`` already have a stored (done) analysis with exactly ``params``."""
    aids = {params.analysis_id(g): g for g in gids}
    return {aids[a] for a in AnalysisRepository(store).present(list(aids))}


# -- creating and reading ------------------------------------------------------------------------
def job_key(graph: str, params: AnalysisParams) -> str:
    """The active_key of a job: the analysis id it writes (one per graph and parameters)."""
    return params.analysis_id(graph)


def enqueue(store: Store, gids: Iterable[str], params: AnalysisParams) -> tuple[list[str], list[str]]:
    """One queued Job per graph. A graph that already has a queued or running job with the same
    parameters keeps it (no duplicate work, also against a concurrent enqueue: the server's
    unique active_key decides). Returns (new jids, reused jids) in graph order."""
    unique = list(dict.fromkeys(gids))
    if not unique:
        return [], []
    params_json = params.model_dump_json()
    new = [NewJob.of(JobRecord(jid=new_jid(), graph=gid, params=params_json), job_key(gid, params)) for gid in unique]
    repo = JobRepository(store)
    for attempt in range(ENQUEUE_ATTEMPTS):
        try:
            found = {e.graph: e for e in repo.create(new)}
            break
        except ConstraintViolation:
            # ArcadeDB: a concurrent enqueue created one of these keys first; MERGE now finds it
            if attempt == ENQUEUE_ATTEMPTS - 1:
                raise
    created = [found[g].jid for g in unique if found[g].created]
    return created, [found[g].jid for g in unique if not found[g].created]


def get_job(store: Store, jid: str) -> JobInfo:
    job = JobRepository(store).find(jid)
    if job is None:
        raise NotFoundError(f"no job with id {jid!r}", f"list jobs with {action('jobs')}")
    return job


def list_jobs(store: Store, *, statuses: Iterable[str] | None = None, jids: Iterable[str] | None = None,
              model: str | None = None, limit: int = 1000) -> list[JobInfo]:
    """Jobs newest first, optionally filtered by status, ids or model."""
    wanted = _statuses(statuses) if statuses is not None else None
    return JobRepository(store).list_jobs(statuses=wanted, jids=list(jids) if jids is not None else None,
                                          prefix=f"{model}@" if model else None, limit=limit)


def _statuses(given: Iterable[str]) -> list[JobStatus]:
    """``given`` as job statuses; ConfigError naming the first unknown one."""
    known: dict[str, JobStatus] = {s: s for s in ACTIVE + FINISHED}
    out = []
    for status in given:
        if status not in known:
            raise ConfigError(f"unknown job status {status!r}", f"use one of {', '.join(ACTIVE + FINISHED)}")
        out.append(known[status])
    return out


# -- worker side ---------------------------------------------------------------------------------
def claim(store: Store, jid: str, token: str, worker: str) -> JobInfo | None:
    """Take a queued job; None when it is not queued any more (someone else has it)."""
    return get_job(store, jid) if JobRepository(store).claim(jid, token, worker) else None


def queued(store: Store, limit: int = 20) -> list[str]:
    return JobRepository(store).queued(limit)


def heartbeat(store: Store, jid: str, token: str, progress: float) -> bool:
    """Refresh liveness and progress; False when this worker no longer holds the job."""
    return JobRepository(store).heartbeat(jid, token, progress)


def fail(store: Store, jid: str, token: str, error: str) -> bool:
    return JobRepository(store).fail(jid, token, error)


def release(store: Store, jid: str, token: str) -> bool:
    return JobRepository(store).release(jid, token)


# -- user side -----------------------------------------------------------------------------------
def cancel(store: Store, jid: str) -> JobInfo:
    """Cancel a queued or running job. A finished job is an error."""
    job = get_job(store, jid)
    if job.status in FINISHED:
        raise ConfigError(f"job {jid} is already {job.status}; nothing to cancel",
                          f"retry it with {action('retry_job', jid=jid)} to run it again" if job.status != "done" else None)
    cancelled = JobRepository(store).cancel(jid, new_token(), f"cancelled by {worker_id()}")
    after = get_job(store, jid)
    if not cancelled:  # it finished between the read and the cancel
        raise ConfigError(f"job {jid} finished ({after.status}) before it could be cancelled")
    return after


def _age_s(iso: str | None) -> float | None:
    if not iso:
        return None
    try:
        then = datetime.fromisoformat(iso)
    except ValueError:
        return None
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    return (datetime.now(UTC) - then).total_seconds()


def _process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (a killed child not yet reaped)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:  # ZombieProcess included
        return False
    except psutil.AccessDenied:  # exists, someone else's
        return True


def worker_gone(job: JobInfo, stale_after: float = STALE_AFTER_S) -> str | None:
    """Why a running job's worker counts as gone, or None while it may still be alive."""
    if job.worker:
        host, _, pid = job.worker.rpartition(":")
        if host == socket.gethostname() and pid.isdigit() and not _process_alive(int(pid)):
            return f"its worker process {job.worker} no longer exists"
    age = _age_s(job.heartbeat or job.started)
    if age is not None and age > stale_after:
        return f"its worker {job.worker} has not reported for {age:.0f} s (more than {stale_after:.0f} s)"
    return None


def reclaim(store: Store, job: JobInfo, reason: str) -> bool:
    """Put running ``job`` back in the queue (its worker is gone, says ``reason``), only if it is
    still as read: same claim and heartbeat. False when it changed (its worker beat, finished,
    or someone reclaimed it first)."""
    return JobRepository(store).reclaim(job, new_token(), f"requeued: {reason}")


def abandon(store: Store, job: JobInfo, reason: str) -> bool:
    """Fail running ``job`` on behalf of its gone worker (still under the claim it was read with)."""
    return fail(store, job.jid, job.claim or "", reason)


def reclaim_stale(store: Store, *, stale_after: float = STALE_AFTER_S, model: str | None = None) -> list[tuple[str, str]]:
    """Requeue every running job whose worker is gone; returns (jid, why) of those requeued."""
    done: list[tuple[str, str]] = []
    for job in list_jobs(store, statuses=["running"], model=model, limit=MAX_LIST_LIMIT):
        why = worker_gone(job, stale_after)
        if why is not None and reclaim(store, job, why):
            done.append((job.jid, why))
    return done


def _requeue_finished(store: Store, job: JobInfo) -> bool:
    """A failed or cancelled job back to queued; refused (ConfigError) while another job of the
    same graph and parameters is active."""
    try:
        return JobRepository(store).requeue(job, new_token(), job_key(job.graph, job.analysis_params))
    except ConstraintViolation:
        raise ConfigError(f"job {job.jid} was not requeued: graph {job.graph} already has a queued or running "
                          "job with the same parameters", f"see it with {action('jobs', status=['queued', 'running'])}") from None


def retry(store: Store, jid: str, *, stale_after: float = STALE_AFTER_S) -> JobInfo:
    """Requeue a failed or cancelled job, or a running one whose worker is gone."""
    job = get_job(store, jid)
    if job.status == "queued":
        return job
    if job.status == "done":
        raise ConfigError(f"job {jid} is done (analysis {job.aid})",
                          f"run {action('analyze')} again to recompute; it replaces the same analysis")
    if job.status == "running":
        why = worker_gone(job, stale_after)
        if why is None:
            raise ConfigError(
                f"job {jid} is running on {job.worker} (last heartbeat {job.heartbeat})",
                f"cancel it first, or wait: a worker counts as gone after {stale_after:.0f} s without heartbeat",
            )
        requeued = reclaim(store, job, f"retried: {why}")
    else:
        requeued = _requeue_finished(store, job)
    if not requeued:
        now = get_job(store, jid)
        raise ConfigError(f"job {jid} changed while retrying it (now {now.status}); nothing done",
                          f"look at it with {action('job', jid=jid)} and try again")
    return get_job(store, jid)


class RetryReport(BaseModel):
    """What a bulk retry did: requeued job ids, and (jid, why) of those left as they were."""

    requeued: list[str] = []
    skipped: list[tuple[str, str]] = []


def retry_many(store: Store, status: RetryStatus, *, model: str | None = None,
               stale_after: float = STALE_AFTER_S) -> RetryReport:
    """Requeue every failed or cancelled job, or every stale running one ("stale": its worker is
    gone), optionally only of one model. Each job is requeued on its own, atomically."""
    if status not in RETRY_STATUSES:
        raise ConfigError(f"cannot retry jobs by status {status!r}", f"use one of {', '.join(RETRY_STATUSES)}")
    report = RetryReport()
    if status == "stale":
        report.requeued = [jid for jid, _ in reclaim_stale(store, stale_after=stale_after, model=model)]
        return report
    for job in list_jobs(store, statuses=[status], model=model, limit=MAX_LIST_LIMIT):
        try:
            if _requeue_finished(store, job):
                report.requeued.append(job.jid)
            else:
                report.skipped.append((job.jid, "it changed meanwhile"))
        except ConfigError as exc:
            report.skipped.append((job.jid, exc.message))
    return report
