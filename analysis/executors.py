"""Where jobs run: a local process pool (default) or Ray tasks (optional extra).

Each executor takes job ids that are already queued in the database and yields one JobOutcome
per id as it completes. Every process (pool worker or Ray worker) opens its own Store from the
``DatabaseSettings`` handed to it, claims each job atomically and writes back itself, so the
executor only moves job ids around and a job taken meanwhile by a `neuromfa worker` comes back
``skipped``.
"""

from __future__ import annotations

import atexit
import multiprocessing
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Literal

from neuromfa.analysis.worker import JobOutcome, run_job
from neuromfa.analysis.jobs import worker_id
from neuromfa.errors import ConfigError, NeuromfaError
from neuromfa.settings import DatabaseSettings
from neuromfa.store.connection import Store, database_settings, open_store

ExecutorName = Literal["local", "ray"]
EXECUTORS: tuple[str, ...] = ("local", "ray")

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
    before the job was claimed comes back as ``skipped`` with the error (the job stays queued)."""
    try:
        return run_job(_process_store(settings), jid)
    except NeuromfaError as exc:
        return JobOutcome(jid=jid, status="skipped", error=str(exc), worker=worker_id())


def _pool_context() -> multiprocessing.context.BaseContext:
    """A fork server that has imported the engine once (each pool process forks from it, so
    the seconds of importing torch/igraph are paid once); spawn where there is none. Never plain
    fork: the parent holds an open database driver."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["neuromfa.analysis.executors"])
        return ctx
    return multiprocessing.get_context("spawn")


class LocalExecutor:
    """A pool of ``workers`` processes on this machine (no driver state shared with this one).
    One worker runs the jobs in this process (no pool start-up cost)."""

    name = "local"

    def __init__(self, workers: int = 1, settings: DatabaseSettings | None = None):
        if workers < 1:
            raise ConfigError(f"--workers must be at least 1 (got {workers})")
        self.workers, self.settings = workers, settings

    def run(self, jids: Sequence[str]) -> Iterator[JobOutcome]:
        if not jids:
            return
        if self.workers == 1:
            for jid in jids:
                yield run_in_process(jid, self.settings)
            return
        ctx = _pool_context()
        pool = ProcessPoolExecutor(max_workers=min(self.workers, len(jids)), mp_context=ctx)
        try:
            pending = {pool.submit(run_in_process, jid, self.settings) for jid in jids}
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    yield fut.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _import_ray():
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
            raise ConfigError(f"--workers must be at least 1 (got {workers})")
        self.ray = _import_ray()
        self.workers, self.settings, self.address = workers, settings, address

    def _init(self) -> bool:
        """Start or join Ray; True when this call started it (and so shuts it down)."""
        if self.ray.is_initialized():
            return False
        kwargs = {"address": self.address} if self.address else {"num_cpus": self.workers}
        try:
            self.ray.init(include_dashboard=False, logging_level="WARNING", log_to_driver=False, **kwargs)
        except Exception as exc:  # noqa: BLE001 - Ray raises many types for a bad address
            where = f"the Ray cluster at {self.address}" if self.address else "a local Ray instance"
            raise ConfigError(f"cannot start or reach {where}: {exc}",
                              "check --ray-address (e.g. ray://HOST:10001 or auto)") from None
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


def make_executor(name: str, *, workers: int = 1, settings: DatabaseSettings | None = None,
                  ray_address: str | None = None):
    if name == "local":
        if ray_address:
            raise ConfigError("--ray-address needs --executor ray")
        return LocalExecutor(workers, settings)
    if name == "ray":
        return RayExecutor(workers, settings, ray_address)
    raise ConfigError(f"unknown executor {name!r}", f"use one of {', '.join(EXECUTORS)}")
