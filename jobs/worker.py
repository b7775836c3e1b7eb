"""Run analysis jobs: claim, pull the SNIN, run the engine, write back; and the worker loop.

``run_job`` is what every executor runs (in a pool process, a Ray task or `neuromfa worker`).
A job that fails records its error and leaves no results (the write-back is one transaction
that either commits whole or not at all); a job stopped by Ctrl-C or SIGTERM before its
write-back goes back to the queue. When the database cannot be reached at all, nothing is
recorded (nothing can be) and ``DatabaseDown`` ends the run instead of failing job after job.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Literal, TypeVar

from neo4j.exceptions import ServiceUnavailable, SessionExpired
from pydantic import BaseModel

from neuromfa.analysis.engine import analyze_snin
from neuromfa.base.errors import DatabaseError, NeuromfaError
from neuromfa.jobs import queue as jobs
from neuromfa.jobs.writeback import analysis_record, measured_rows
from neuromfa.schema.records import JobStatus
from neuromfa.store.analyses import AnalysisRepository
from neuromfa.store.connection import Store
from neuromfa.store.graphs import GraphRepository
from neuromfa.store.jobs import JobLost, job_lost

T = TypeVar("T")

# What became of a job in one worker: a job status, or lost (taken over by another worker
# before this one could write), skipped (not queued when this worker tried to take it) or
# missing (deleted from the database while a caller waited for it).
OutcomeStatus = Literal[JobStatus, "lost", "skipped", "missing"]

# Called inside the write-back transaction with the job id, after every result is written and
# just before the commit (what a caller injects to observe or interrupt that moment).
BeforeCommit = Callable[[str], None]

# Progress recorded on the Job at each stage boundary.
PROGRESS_CLAIMED, PROGRESS_PULLED, PROGRESS_COMPUTED = 0.05, 0.3, 0.8

RECLAIM_EVERY_S = jobs.HEARTBEAT_S  # how often a worker looks for stale running jobs

# Jobs this process holds now: jid -> (store, claim token); what `release_held` gives back.
_held: dict[str, tuple[Store, str]] = {}


class DatabaseDown(DatabaseError):
    """The database cannot be reached: the run stops (no job can be taken or recorded)."""

    def __reduce__(self) -> tuple[type[DatabaseDown], tuple[str, str | None]]:  # message and hint survive the trip back from a pool process
        return (type(self), (self.message, self.hint))


def database_down(exc: BaseException) -> bool:
    """Whether ``exc`` means the server is unreachable (not a statement it rejected)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (DatabaseDown, ServiceUnavailable, SessionExpired)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def down_error(exc: DatabaseError) -> DatabaseDown:
    """``exc`` (an unreachable-server error) as DatabaseDown."""
    return exc if isinstance(exc, DatabaseDown) else DatabaseDown(exc.message, exc.hint)


def release_held(say: Callable[[str], None] | None = None) -> None:
    """Best effort: put every job this process holds back in the queue (it is about to exit);
    ``say`` hears one line per job."""
    for jid, (store, token) in list(_held.items()):
        try:
            given = jobs.release(store, jid, token)
            line = f"job {jid} given back to the queue" if given else f"job {jid} was not this process's any more"
        except Exception as exc:
            line = f"job {jid} could not be given back ({exc}); it is reclaimed as stale later"
        if say:
            say(line)


class JobOutcome(BaseModel):
    """What became of one job in one worker (``status``: see OutcomeStatus)."""

    jid: str
    graph: str | None = None
    status: OutcomeStatus
    aid: str | None = None
    error: str | None = None
    worker: str = ""
    nodes: int = 0
    edges: int = 0
    seconds_pull: float = 0.0
    seconds_compute: float = 0.0
    seconds_write: float = 0.0


class Heartbeat:
    """Background thread that refreshes the job's heartbeat and progress. All job writes during
    pull and compute come from this one thread (no self-conflicts on optimistic servers); it
    notes when the job is no longer ours (cancelled / taken over)."""

    def __init__(self, store: Store, jid: str, token: str, interval: float = jobs.HEARTBEAT_S):
        self.store, self.jid, self.token, self.interval = store, jid, token, interval
        self.progress = PROGRESS_CLAIMED
        self.lost = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{jid}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        # on an error, do not wait for a beat in flight (it may be retrying a dead server)
        self.stop(wait=exc_type is None)

    def beat(self, progress: float) -> None:
        """Record new progress now (asynchronously)."""
        self.progress = progress
        self._wake.set()

    def stop(self, wait: bool = True) -> None:
        self._stop.set()
        self._wake.set()
        if wait and self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                if not jobs.heartbeat(self.store, self.jid, self.token, self.progress):
                    self.lost = True
                    return
            except NeuromfaError:
                pass  # a missed beat is harmless; the write-back re-checks the claim


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, NeuromfaError):
        return str(exc)
    return f"internal error {type(exc).__name__}: {exc}"


def execute(store: Store, job: jobs.JobInfo, token: str, worker: str, *,
            before_commit: BeforeCommit | None = None) -> JobOutcome:
    """Run a job this worker has claimed with ``token`` (``before_commit``: see BeforeCommit)."""
    out = JobOutcome(jid=job.jid, graph=job.graph, status="running", worker=worker)

    def check(hb: Heartbeat) -> None:
        if hb.lost:
            now = _bookkeeping(lambda: jobs.get_job(store, job.jid))
            raise job_lost(job.jid, now.status if now else None)

    _held[job.jid] = (store, token)
    try:
        with Heartbeat(store, job.jid, token) as hb:
            params = job.analysis_params
            t0 = time.perf_counter()
            snin = GraphRepository(store).pull(job.graph)
            out.seconds_pull = time.perf_counter() - t0
            out.nodes, out.edges = snin.n_nodes, snin.n_edges
            hb.beat(PROGRESS_PULLED)
            check(hb)
            result = analyze_snin(snin, params)
            out.seconds_compute = result.seconds_compute
            hb.beat(PROGRESS_COMPUTED)
            check(hb)
        record = analysis_record(job.graph, params, result, seconds_pull=out.seconds_pull)
        rows = measured_rows(snin, job.graph, result)
        out.seconds_write = AnalysisRepository(store).write_back(
            record, rows, jid=job.jid, token=token,
            on_commit=(lambda: before_commit(job.jid)) if before_commit is not None else None)
        out.status, out.aid = "done", record.aid
    except JobLost as exc:
        out.status, out.error = ("cancelled" if exc.status == "cancelled" else "lost"), exc.message
    except (KeyboardInterrupt, SystemExit):
        _quietly(lambda: jobs.release(store, job.jid, token))
        raise
    except DatabaseError as exc:
        if database_down(exc):
            raise down_error(exc) from None  # the job stays running; it is reclaimed as stale later
        _record_failure(store, out, token, exc)
    except Exception as exc:  # every failure is recorded on the job
        _record_failure(store, out, token, exc)
    finally:
        _held.pop(job.jid, None)
    return out


def _record_failure(store: Store, out: JobOutcome, token: str, exc: BaseException) -> None:
    error = _error_text(exc)
    out.status, out.error = "failed", error
    if not _bookkeeping(lambda: jobs.fail(store, out.jid, token, error)):
        now = _bookkeeping(lambda: jobs.get_job(store, out.jid))
        if now is not None and now.status != "running":
            out.status = now.status  # e.g. cancelled meanwhile: that decision stands


def _quietly(fn: Callable[[], T]) -> T | None:
    """fn() or None when the database cannot be reached (best effort bookkeeping)."""
    try:
        return fn()
    except (DatabaseError, NeuromfaError):
        return None


def _bookkeeping(fn: Callable[[], T]) -> T | None:
    """fn() or None when it fails, except that an unreachable database stops the run."""
    try:
        return fn()
    except NeuromfaError as exc:
        if isinstance(exc, DatabaseError) and database_down(exc):
            raise down_error(exc) from None
        return None


def _claim(store: Store, jid: str, token: str, worker: str) -> jobs.JobInfo | None:
    """Claim ``jid``, held in ``_held`` from before the claim: a process stopped or orphaned
    right after the claim commits still gives the job back when it exits (a release with a
    token that never claimed is a no-op)."""
    _held[jid] = (store, token)
    job = None
    try:
        job = jobs.claim(store, jid, token, worker)
    finally:
        if job is None:  # not claimed (or the claim failed): nothing to give back
            _held.pop(jid, None)
    return job


def run_job(store: Store, jid: str, worker: str | None = None, *, stale_after: float = jobs.STALE_AFTER_S,
            before_commit: BeforeCommit | None = None) -> JobOutcome:
    """Claim job ``jid`` and run it; ``skipped`` when it is not queued (another worker has it,
    or it was cancelled or finished). A running job whose worker is gone is reclaimed first."""
    worker = worker or jobs.worker_id()
    token = jobs.new_token()
    job = _claim(store, jid, token, worker)
    if job is None:
        now = jobs.get_job(store, jid)
        why = jobs.worker_gone(now, stale_after) if now.status == "running" else None
        if why is not None and jobs.reclaim(store, now, why):
            job = _claim(store, jid, token, worker)
        if job is None:
            now = jobs.get_job(store, jid)
            return JobOutcome(jid=jid, graph=now.graph, status="skipped", worker=worker,
                              error=f"job {jid} was {now.status} when this worker tried to take it")
    return execute(store, job, token, worker, before_commit=before_commit)


def run_next(store: Store, worker: str | None = None, *, before_commit: BeforeCommit | None = None) -> JobOutcome | None:
    """Claim and run the oldest queued job; None when the queue is empty."""
    worker = worker or jobs.worker_id()
    while True:
        candidates = jobs.queued(store)
        if not candidates:
            return None
        for jid in candidates:
            token = jobs.new_token()
            job = _claim(store, jid, token, worker)
            if job is not None:
                return execute(store, job, token, worker, before_commit=before_commit)
        # every candidate was taken by another worker meanwhile: look again


def worker_loop(store: Store, *, once: bool = False, poll: float = 2.0, max_jobs: int | None = None,
                stale_after: float = jobs.STALE_AFTER_S,
                on_outcome: Callable[[JobOutcome], None] | None = None,
                on_idle: Callable[[], None] | None = None,
                on_reclaim: Callable[[str, str], None] | None = None,
                stop: threading.Event | None = None,
                before_commit: BeforeCommit | None = None) -> int:
    """Take queued jobs until stopped: ``once`` returns when the queue is empty, ``max_jobs``
    after that many jobs; otherwise polls every ``poll`` seconds. Running jobs whose worker is
    gone (``stale_after`` seconds without a heartbeat, or its process ended on this host) are
    requeued first, at most every RECLAIM_EVERY_S (``on_reclaim(jid, why)`` for each).
    ``before_commit`` goes to every write-back. Returns jobs run."""
    worker = jobs.worker_id()
    done = 0
    last_reclaim = -RECLAIM_EVERY_S
    while (max_jobs is None or done < max_jobs) and not (stop and stop.is_set()):
        if time.monotonic() - last_reclaim >= RECLAIM_EVERY_S:
            for jid, why in jobs.reclaim_stale(store, stale_after=stale_after):
                if on_reclaim:
                    on_reclaim(jid, why)
            last_reclaim = time.monotonic()
        outcome = run_next(store, worker, before_commit=before_commit)
        if outcome is None:
            if once:
                break
            if on_idle:
                on_idle()
            if stop is not None:
                stop.wait(poll)
            else:
                time.sleep(poll)
            continue
        done += 1
        if on_outcome:
            on_outcome(outcome)
    return done
