"""Where jobs run: a local process pool (default) or Ray tasks (optional extra).

Each executor takes job ids that are already queued in the database and yields one JobOutcome
per id as it completes. Every process (pool worker or Ray worker) opens its own Store from the
``DatabaseSettings`` handed to it, claims each job atomically and writes back itself, so the
executor only moves job ids around and a job taken meanwhile by a `neuromfa worker` comes back
``skipped``.

The local pool survives its processes: when one dies (killed, out of memory) the pool breaks,
and the jobs it held are requeued and run again in a new pool, or failed with the reason once
they have broken a pool MAX_POOL_DEATHS times. Pool processes watch the process that started
them and exit within about WATCHDOG_S when it is gone, releasing the job in hand. An
unreachable database ends the run at once (``DatabaseDown``) instead of failing every job.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from types import ModuleType
from typing import Literal, get_args

import psutil

from neuromfa.base.errors import ConfigError, DatabaseError, NeuromfaError, param
from neuromfa.base.settings import DatabaseSettings
from neuromfa.jobs import queue as jobs
from neuromfa.jobs.queue import worker_id
from neuromfa.jobs.worker import JobOutcome, OutcomeStatus, database_down, down_error, release_held, run_job
from neuromfa.store.connection import Store, database_settings, open_store

ExecutorName = Literal["local", "ray"]  # the one definition: the CLI derives its choices
EXECUTORS: tuple[ExecutorName, ...] = get_args(ExecutorName)

WATCHDOG_S = 0.5  # how often a pool process checks that its parent is alive
RELEASE_WAIT_S = 3.0  # how long an orphaned pool process tries to release its job before exiting
MAX_POOL_DEATHS = 2  # a job held by a dying pool process this often is failed, not requeued

_store: Store | None = None  # one Store per worker process, opened on first use
_store_settings: DatabaseSettings | None = None


def _close_process_store() -> None:
    """At exit: close whichever Store this process holds now (one hook, however often reopened)."""
    global _store, _store_settings
    if _store is not None:
        _store.close()
    _store, _store_settings = None, None


def _process_store(settings: DatabaseSettings | None) -> Store:
    global _store, _store_settings
    # None means "from the environment", which may have changed since the Store was opened
    settings = settings if settings is not None else database_settings()
    if _store is None or settings != _store_settings:
        if _store is not None:
            _store.close()
            _store = None
        _store = open_store(settings, autostart=False)
        _store_settings = settings
    return _store


atexit.register(_close_process_store)


def run_in_process(jid: str, settings: DatabaseSettings | None) -> JobOutcome:
    """Task body of both executors: run one job with this process's Store. A database failure
    before the job was claimed comes back as ``skipped`` with the error (the job stays queued);
    an unreachable database raises ``DatabaseDown`` (the run stops)."""
    try:
        return run_job(_process_store(settings), jid)
    except DatabaseError as exc:
        if database_down(exc):
            raise down_error(exc) from None
        return JobOutcome(jid=jid, status="skipped", error=str(exc), worker=worker_id())
    except NeuromfaError as exc:
        return JobOutcome(jid=jid, status="skipped", error=str(exc), worker=worker_id())


def _parent_gone(pid: int, created: float) -> bool:
    try:
        parent = psutil.Process(pid)
        return abs(parent.create_time() - created) > 1e-3 or parent.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _orphan_exit() -> None:
    """Give back the job in hand (bounded: the database may be gone too), then exit now."""
    def say(line: str) -> None:
        print(f"neuromfa: pool process {os.getpid()} lost the process that started it; {line}",
              file=sys.stderr, flush=True)

    releaser = threading.Thread(target=release_held, args=(say,), daemon=True)
    releaser.start()
    releaser.join(RELEASE_WAIT_S)
    os._exit(1)


def _watch_parent(pid: int, created: float) -> None:
    while not _parent_gone(pid, created):
        time.sleep(WATCHDOG_S)
    _orphan_exit()


def _pool_process_init(parent_pid: int, parent_created: float) -> None:
    """Initializer of every pool process: exit when the process that started the pool is gone
    (killed or crashed: nothing else would stop this one). A pid check, not the parent of this
    process, which is the fork server; identity by creation time, so a reused pid is no parent."""
    threading.Thread(target=_watch_parent, args=(parent_pid, parent_created),
                     name="parent-watchdog", daemon=True).start()


def _pool_context() -> multiprocessing.context.BaseContext:
    """A fork server that has imported the engine once (each pool process forks from it, so
    the seconds of importing torch/igraph are paid once); spawn where there is none. Never plain
    fork: the parent holds an open database driver."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["neuromfa.jobs.executors"])
        return ctx
    return multiprocessing.get_context("spawn")


class LocalExecutor:
    """A pool of ``workers`` processes on this machine (no driver state shared with this one).
    One worker runs the jobs in this process (no pool start-up cost). ``notify`` hears about
    jobs requeued after a pool process died."""

    name = "local"

    def __init__(self, workers: int = 1, settings: DatabaseSettings | None = None,
                 notify: Callable[[str], None] | None = None):
        if workers < 1:
            raise ConfigError(f"{param('workers')} must be at least 1 (got {workers})", param="workers")
        self.workers, self.settings, self.notify = workers, settings, notify

    def run(self, jids: Sequence[str]) -> Iterator[JobOutcome]:
        if not jids:
            return
        if self.workers == 1:
            for jid in jids:
                yield run_in_process(jid, self.settings)
            return
        deaths: dict[str, int] = {}
        todo = list(jids)
        while todo:
            broken: list[str] = []
            exits: dict[int, int | None] = {}
            yield from self._run_pool(todo, broken, exits)
            todo = []
            for item in self._recover(broken, exits, deaths):
                if isinstance(item, JobOutcome):
                    yield item
                else:
                    todo.append(item)

    def _run_pool(self, jids: list[str], broken: list[str], exits: dict[int, int | None]) -> Iterator[JobOutcome]:
        """Run ``jids`` in one pool; those whose future the pool's breakage took go to ``broken``,
        and the exit code of each pool process to ``exits`` (pid -> code) once the pool is shut."""
        me = psutil.Process()
        pool = ProcessPoolExecutor(max_workers=min(self.workers, len(jids)), mp_context=_pool_context(),
                                   initializer=_pool_process_init, initargs=(me.pid, me.create_time()))
        # CPython's pid -> Process map of the pool (shutdown drops the attribute, not the map)
        processes = getattr(pool, "_processes", None)
        processes = processes if isinstance(processes, dict) else {}
        clean = False
        try:
            futures: dict[Future[JobOutcome], str] = {pool.submit(run_in_process, jid, self.settings): jid for jid in jids}
            pending = set(futures)
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    try:
                        outcome = fut.result()
                    except BrokenProcessPool:
                        broken.append(futures[fut])
                        continue
                    yield outcome
            clean = True
        except KeyboardInterrupt:
            clean = True  # Ctrl-C reached the pool processes too: they give their jobs back and end
            raise
        finally:
            if not clean:  # an error (e.g. the database is down): the other processes stop now
                for proc in list(processes.values()):
                    proc.terminate()
            pool.shutdown(wait=True, cancel_futures=True)
            exits.update({pid: proc.exitcode for pid, proc in list(processes.items())})

    def _recover(self, jids: list[str], exits: dict[int, int | None],
                 deaths: dict[str, int]) -> Iterator[JobOutcome | str]:
        """After a pool broke (its processes are all gone now): a job id to run again, or the
        outcome of a job that will not be (finished meanwhile, failed here, held elsewhere).
        A job whose process died on its own (killed, out of memory) counts a death; one whose
        process the broken pool terminated (SIGTERM) is requeued without."""
        if not jids:
            return
        store = _process_store(self.settings)
        for job in jobs.list_jobs(store, jids=jids, limit=len(jids)):
            why = jobs.worker_gone(job) if job.status == "running" else None
            if why is None:
                yield _as_found(job)
                continue
            code = exits.get(_pid_of(job.worker) or -1)
            if code == -signal.SIGTERM:
                reason = "another process of its pool died, so the pool was restarted"
            else:
                deaths[job.jid] = deaths.get(job.jid, 0) + 1
                reason = f"its pool process died while running it ({_exit_text(code)})"
            if deaths.get(job.jid, 0) < MAX_POOL_DEATHS:
                if jobs.reclaim(store, job, reason) and self.notify:
                    self.notify(f"job {job.jid} ({job.graph}): {reason}; running it again in a new pool")
            else:
                jobs.abandon(store, job, f"{reason}, {deaths[job.jid]} times; "
                                         f"retry it (`neuromfa jobs retry {job.jid}` or api.retry_job)")
            yield _as_found(jobs.get_job(store, job.jid))  # as the reclaim or failure left it


def _pid_of(worker: str | None) -> int | None:
    pid = (worker or "").rpartition(":")[2]
    return int(pid) if pid.isdigit() else None


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}" + (", out of memory?" if code == -signal.SIGKILL else "")
        except ValueError:
            pass
    return f"exit status {code}" if code is not None else "killed, or out of memory?"


def _as_found(job: jobs.JobInfo) -> JobOutcome | str:
    """A queued job's id (to run), else its outcome as the database has it now: finished, or
    ``skipped`` when running on another live worker (the caller waits for those)."""
    if job.status == "queued":
        return job.jid
    status: OutcomeStatus = "skipped" if job.status == "running" else job.status
    return JobOutcome(jid=job.jid, graph=job.graph, status=status, aid=job.aid, error=job.error,
                      worker=job.worker or "")


def _import_ray() -> ModuleType:
    try:
        import ray
    except ImportError:
        raise ConfigError("the ray executor needs Ray, which is not installed",
                          "pip install 'neuromfa[ray]'") from None
    return ray


class RayExecutor:
    """Each job is one Ray task (num_cpus=1). Without ``address`` a local Ray instance is started
    with ``workers`` CPUs, unless Ray is already initialised in this process; with it (e.g.
    ``ray://head:10001`` or ``auto``) the jobs spread over that cluster, whose nodes must reach
    the graph database named by ``settings`` (the local server listens on 127.0.0.1 only: a
    cluster needs NEO4J_URI pointing at a shared server). The settings, password included, travel
    with each task; on a shared cluster prefer giving the workers NEO4J_* in their environment
    and ``settings=None``. ``workers`` only sizes a local instance: on a cluster every free CPU
    takes tasks."""

    name = "ray"

    def __init__(self, workers: int = 1, settings: DatabaseSettings | None = None, address: str | None = None):
        if workers < 1:
            raise ConfigError(f"{param('workers')} must be at least 1 (got {workers})", param="workers")
        self.ray = _import_ray()
        self.workers, self.settings, self.address = workers, settings, address

    def _init(self) -> bool:
        """Start or join Ray; True when this call started it (and so shuts it down)."""
        if self.ray.is_initialized():
            return False
        kwargs = {"address": self.address} if self.address else {"num_cpus": self.workers}
        try:
            self.ray.init(include_dashboard=False, logging_level="WARNING", log_to_driver=False, **kwargs)
        except Exception as exc:  # Ray raises many types for a bad address
            where = f"the Ray cluster at {self.address}" if self.address else "a local Ray instance"
            raise ConfigError(f"cannot start or reach {where}: {exc}",
                              f"check {param('ray_address')} (e.g. ray://HOST:10001 or auto)", param="ray_address") from None
        return True

    def run(self, jids: Sequence[str]) -> Iterator[JobOutcome]:
        if not jids:
            return
        ray = self.ray
        started = self._init()
        try:
            task = ray.remote(num_cpus=1, max_retries=0)(run_in_process)
            settings = self.settings
            pending = [task.remote(jid, settings) for jid in jids]
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                for ref in ready:
                    yield ray.get(ref)
        finally:
            if started:
                ray.shutdown()


def make_executor(name: ExecutorName | str, *, workers: int = 1, settings: DatabaseSettings | None = None,
                  ray_address: str | None = None,
                  notify: Callable[[str], None] | None = None) -> LocalExecutor | RayExecutor:
    if name == "local":
        if ray_address:
            raise ConfigError(f"{param('ray_address')} needs {param('executor', 'ray')}", param="ray_address")
        return LocalExecutor(workers, settings, notify)
    if name == "ray":
        return RayExecutor(workers, settings, ray_address)
    raise ConfigError(f"unknown executor {name!r}", f"use one of {', '.join(EXECUTORS)}")
