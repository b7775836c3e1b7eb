"""Workers as separate processes on the real local server: killed during the write-back,
cancelled during the write-back, two workers sharing a queue; and the Ray executor."""

from __future__ import annotations

import os
import signal
import socket
import time

import pytest
from jobs_helpers import COUNT_ANALYSES, COUNT_MEASURED, PAUSING_WORKER, Proc, count, settings_for, store_fixture, wait_until

from neuromfa import api
from neuromfa.base.errors import ConfigError
from neuromfa.jobs import queue as jobs
from neuromfa.jobs import worker
from neuromfa.schema.params import AnalysisParams
from neuromfa.schema.records import graph_id

GID = graph_id("neox", 0, 0, 32)


def pausing_worker(seconds: float, args: list[str], env: dict[str, str]) -> Proc:
    """`neuromfa worker ARGS` whose write-backs pause ``seconds`` just before their commit."""
    return Proc([str(seconds), *args], env, command=PAUSING_WORKER)


def test_worker_killed_during_write_back_leaves_nothing(store, db_env):
    snin = store_fixture(store, "neox", steps=(0,), samples=(0,))[(0, 0)]
    (jid,), _ = jobs.enqueue(store, [GID], AnalysisParams(mode="one-hop"))
    proc = pausing_worker(120, ["--once"], db_env)
    proc.wait_for("write-back of job")  # everything is written, the commit has not happened
    os.kill(proc.popen.pid, signal.SIGKILL)
    proc.finish()

    assert count(store, COUNT_ANALYSES) == 0 and count(store, COUNT_MEASURED) == 0
    job = jobs.get_job(store, jid)
    assert job.status == "running" and job.worker == f"{socket.gethostname()}:{proc.popen.pid}"
    assert "no longer exists" in jobs.worker_gone(job)

    assert jobs.retry(store, jid).status == "queued"
    assert worker.run_next(store).status == "done"
    assert count(store, COUNT_ANALYSES) == 1 and count(store, COUNT_MEASURED) == snin.n_nodes


def test_cancel_during_write_back_leaves_nothing(store, db_env, graph_server):
    """ArcadeDB: the cancel commits while the worker's write-back transaction is open; the
    write-back conflicts at commit, its retry sees the cancel, and it commits nothing. Neo4j:
    the write-back's first statement write-locked the Job, so the cancel waits for the commit
    and then refuses in one line: the job is done, with its whole analysis. Either way one of
    the two wins entirely."""
    snin = store_fixture(store, "neox", steps=(0,), samples=(0,))[(0, 0)]
    (jid,), _ = jobs.enqueue(store, [GID], AnalysisParams(mode="one-hop"))
    proc = pausing_worker(3, ["--once"], db_env)
    proc.wait_for("write-back of job")
    if graph_server.name == "neo4j":
        with pytest.raises(ConfigError, match=f"job {jid} finished \\(done\\) before it could be cancelled"):
            jobs.cancel(store, jid)
        assert proc.finish() == 0
        assert jobs.get_job(store, jid).status == "done"
        assert count(store, COUNT_ANALYSES) == 1 and count(store, COUNT_MEASURED) == snin.n_nodes
        return
    assert jobs.cancel(store, jid).status == "cancelled"
    assert proc.finish() == 0
    assert f"job {jid} ({GID}) cancelled" in "".join(proc.out)
    assert jobs.get_job(store, jid).status == "cancelled"
    assert count(store, COUNT_ANALYSES) == 0 and count(store, COUNT_MEASURED) == 0


def test_two_worker_processes_run_each_job_exactly_once(store, db_env):
    steps, samples = (0, 1, 2), (0, 1)
    store_fixture(store, "neox", steps=steps, samples=samples)
    workers = [Proc(["worker", "--poll", "0.2"], db_env) for _ in range(2)]
    for w in workers:
        w.wait_for("worker started")
    time.sleep(1.0)  # both are polling the queue now
    created, _ = jobs.enqueue(store, [graph_id("neox", s, n, 32) for s in steps for n in samples],
                              AnalysisParams(mode="one-hop"))
    wait_until(lambda: all(j.status == "done" for j in jobs.list_jobs(store)), what="all jobs done")
    for w in workers:
        w.popen.send_signal(signal.SIGTERM)
        w.finish()

    ran = [line.split()[1] for w in workers for line in w.out if line.startswith("job ")]
    assert sorted(ran) == sorted(created)  # each job once, over both workers
    names = {f"{socket.gethostname()}:{w.popen.pid}" for w in workers}
    assert {j.worker for j in jobs.list_jobs(store)} <= names
    assert count(store, COUNT_ANALYSES) == len(created)


def test_worker_stopped_by_sigterm_puts_its_job_back(store, db_env):
    store_fixture(store, "neox", steps=(0,), samples=(0,))
    (jid,), _ = jobs.enqueue(store, [GID], AnalysisParams(mode="one-hop"))
    proc = pausing_worker(120, [], db_env)
    proc.wait_for("write-back of job")
    proc.popen.send_signal(signal.SIGTERM)
    assert proc.finish() == 130
    job = jobs.get_job(store, jid)
    assert (job.status, job.worker) == ("queued", None)
    assert count(store, COUNT_ANALYSES) == 0 and count(store, COUNT_MEASURED) == 0


@pytest.mark.servers("arcadedb")  # its subject is the executor (Ray's start-up: ~10 s a run)
def test_ray_executor_runs_jobs_as_ray_tasks(store, graph_server):
    import ray  # the `ray` extra; CI installs it with the test extras
    store_fixture(store, "neox", steps=(0, 1), samples=(0,))
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        report = api.analyze("neox", mode="one-hop", executor="ray", settings=settings_for(graph_server, store))
    finally:
        ray.shutdown()
    assert report.counts() == {"done": 2}
    workers = {o.worker for o in report.outcomes}
    assert all(w.rsplit(":", 1)[1] != str(os.getpid()) for w in workers)  # ran in Ray's processes
    local = api.results("neox", store=store)
    store.write("MATCH (a:Analysis) DETACH DELETE a")
    api.analyze("neox", mode="one-hop", settings=settings_for(graph_server, store))
    again = api.results("neox", store=store)
    assert local[["gid", "alpha0", "width", "r2_min"]].equals(again[["gid", "alpha0", "width", "r2_min"]])
