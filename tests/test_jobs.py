"""Job lifecycle on the real local server: atomic claim, failure, cancel, retry, stale workers,
and clear errors for graphs that do not exist and invalid parameters."""

from __future__ import annotations

import socket
import threading

import pytest
from conftest import WIPE
from jobs_helpers import COUNT_ANALYSES, COUNT_JOBS, COUNT_MEASURED, count, race, settings_for, store_fixture

from neuromfa import api
from neuromfa.base.errors import ConfigError, NotFoundError
from neuromfa.jobs import queue as jobs
from neuromfa.jobs import worker
from neuromfa.schema.params import AnalysisParams
from neuromfa.schema.records import graph_id

GID = graph_id("neox", 0, 0, 32)
DELETE_JOBS = "MATCH (j:Job) DETACH DELETE j"  # test-only: the package never deletes a job


@pytest.fixture
def one_graph(store):
    return store_fixture(store, "neox", steps=(0,), samples=(0,))[(0, 0)]


def test_claim_is_atomic_under_concurrency(store, graph_server, one_graph):
    """Eight threads, each with its own connection, race for the same queued job: one wins."""
    (jid,), _ = jobs.enqueue(store, [GID], AnalysisParams())
    won = race(graph_server, store, 8,
               lambda own, i: jobs.claim(own, jid, jobs.new_token(), f"racer:{i}") is not None)
    assert len(won) == 1
    job = jobs.get_job(store, jid)
    assert (job.status, job.worker) == ("running", f"racer:{won[0]}")


def test_threads_sharing_a_queue_run_each_job_once(store, graph_server):
    store_fixture(store, "neox", steps=(0, 1, 2), samples=(0, 1))
    created, _ = jobs.enqueue(store, [graph_id("neox", s, n, 32) for s in (0, 1, 2) for n in (0, 1)],
                              AnalysisParams(mode="one-hop"))
    ran: list[tuple[str, str]] = []

    def loop(i: int) -> None:
        with graph_server.connect(store.database) as own:
            worker.worker_loop(own, once=True, on_outcome=lambda o: ran.append((o.jid, o.status)))

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(j for j, _ in ran) == sorted(created)  # every job exactly once
    assert {s for _, s in ran} == {"done"}
    assert count(store, COUNT_ANALYSES) == 6


def test_failed_job_records_its_error_and_can_be_retried(store, one_graph):
    impossible = AnalysisParams(mode="one-hop", min_mass=10_000)  # no node is eligible
    (jid,), _ = jobs.enqueue(store, [GID], impossible)
    outcome = worker.run_job(store, jid)
    assert outcome.status == "failed" and "min_mass=10000" in outcome.error
    job = jobs.get_job(store, jid)
    assert job.status == "failed" and "no node" in job.error and job.finished
    assert count(store, COUNT_ANALYSES) == 0 and count(store, COUNT_MEASURED) == 0

    again = jobs.retry(store, jid)
    assert (again.status, again.error, again.worker, again.progress) == ("queued", None, None, 0.0)
    assert worker.run_job(store, jid).status == "failed"  # same inputs, same failure


def test_job_on_a_graph_that_does_not_exist_fails_clearly(store):
    (jid,), _ = jobs.enqueue(store, ["ghost@0/s0/k32/reference"], AnalysisParams())
    outcome = worker.run_job(store, jid)
    assert outcome.status == "failed"
    assert "no graph with gid 'ghost@0/s0/k32/reference'" in jobs.get_job(store, jid).error


def test_cancel_queued_job_then_retry(store, one_graph):
    (jid,), _ = jobs.enqueue(store, [GID], AnalysisParams(mode="one-hop"))
    assert jobs.cancel(store, jid).status == "cancelled"
    assert worker.run_next(store) is None  # a cancelled job is not taken
    with pytest.raises(ConfigError, match="already cancelled"):
        jobs.cancel(store, jid)
    assert jobs.retry(store, jid).status == "queued"
    assert worker.run_next(store).status == "done"
    with pytest.raises(ConfigError, match="is done"):
        jobs.retry(store, jid)
    with pytest.raises(ConfigError, match="already done"):
        jobs.cancel(store, jid)


def test_cancel_while_running_leaves_no_results(store, one_graph):
    """Cancelled after the claim (as if during compute): the write-back refuses, nothing stored."""
    (jid,), _ = jobs.enqueue(store, [GID], AnalysisParams(mode="one-hop"))
    token = jobs.new_token()
    job = jobs.claim(store, jid, token, jobs.worker_id())
    jobs.cancel(store, jid)
    outcome = worker.execute(store, job, token, jobs.worker_id())
    assert outcome.status == "cancelled"
    assert jobs.get_job(store, jid).status == "cancelled"
    assert count(store, COUNT_ANALYSES) == 0 and count(store, COUNT_MEASURED) == 0


def test_requeued_job_cannot_be_written_by_its_old_worker(store, one_graph):
    """A job taken over (requeued as stale and claimed again) is written only by the new holder."""
    (jid,), _ = jobs.enqueue(store, [GID], AnalysisParams(mode="one-hop"))
    old_token = jobs.new_token()
    old = jobs.claim(store, jid, old_token, "elsewhere:1")
    assert jobs.retry(store, jid, stale_after=0).status == "queued"  # heartbeat "too old"
    new = worker.run_job(store, jid)
    assert new.status == "done"
    late = worker.execute(store, old, old_token, "elsewhere:1")
    assert late.status == "lost" and "taken over" in late.error
    assert jobs.get_job(store, jid).worker == new.worker
    assert count(store, COUNT_ANALYSES) == 1


def test_retry_of_a_running_job_needs_its_worker_gone(store, one_graph):
    (jid,), _ = jobs.enqueue(store, [GID], AnalysisParams())
    jobs.claim(store, jid, jobs.new_token(), jobs.worker_id())  # this (live) process
    with pytest.raises(ConfigError, match="is running on"):
        jobs.retry(store, jid)
    dead = jobs.get_job(store, jid).model_copy(update={"worker": f"{socket.gethostname()}:999999999"})
    assert "no longer exists" in jobs.worker_gone(dead)
    remote = jobs.get_job(store, jid).model_copy(update={"worker": "other-host:1"})
    assert jobs.worker_gone(remote) is None
    assert "has not reported" in jobs.worker_gone(remote, stale_after=-1)


def test_waiting_for_a_job_that_gets_deleted_ends_as_missing(store, graph_server, one_graph):
    """analyze waits for jobs another worker holds; one deleted meanwhile must not hang it."""
    (jid,), _ = jobs.enqueue(store, [GID], AnalysisParams())
    jobs.claim(store, jid, jobs.new_token(), jobs.worker_id())  # running on a live worker

    def delete_later() -> None:
        with graph_server.connect(store.database) as own:
            own.write(WIPE)

    timer = threading.Timer(0.5, delete_later)
    timer.start()
    try:
        outcomes = list(api._wait_for(store, [jid]))
    finally:
        timer.join()
    assert [(o.jid, o.status) for o in outcomes] == [(jid, "missing")]
    assert "deleted" in outcomes[0].error


def test_analyze_unknown_model_step_or_sample_is_a_clear_error(store, graph_server, one_graph):
    settings = settings_for(graph_server, store)
    with pytest.raises(NotFoundError, match="no stored graphs of model 'nope'"):
        api.analyze("nope", settings=settings)
    with pytest.raises(NotFoundError, match="has no graph at step 7") as exc:
        api.analyze("neox", steps=[7], settings=settings)
    assert "stored steps: 0" in exc.value.hint
    with pytest.raises(NotFoundError, match="sample 5"):
        api.analyze("neox", samples=[5], settings=settings)
    assert count(store, COUNT_JOBS) == 0


@pytest.mark.parametrize("values, message", [
    (dict(threshold=1.0), "threshold"),
    (dict(q_min=-0.25, q_step=0.1), "does not contain q = 0"),
    (dict(q_min=1.0, q_max=-1.0), "must be below q_max"),
    (dict(filter=5), "filter"),
    (dict(mode="two-hop"), "mode"),
])
def test_invalid_parameters_are_a_clear_error_before_any_job(store, graph_server, one_graph, values, message):
    with pytest.raises(ConfigError, match=message) as exc:
        api.analyze("neox", settings=settings_for(graph_server, store), **values)
    assert str(exc.value).startswith("invalid analysis parameters") and "\n" not in str(exc.value)
    assert count(store, COUNT_JOBS) == 0


def test_unknown_executor_and_missing_ray_are_clear_errors(store, graph_server, one_graph, monkeypatch):
    settings = settings_for(graph_server, store)
    with pytest.raises(ConfigError, match="unknown executor 'dask'"):
        api.analyze("neox", executor="dask", settings=settings)
    monkeypatch.setitem(__import__("sys").modules, "ray", None)  # import ray now fails
    with pytest.raises(ConfigError, match="needs Ray") as exc:
        api.analyze("neox", executor="ray", settings=settings)
    assert exc.value.hint == "pip install 'neuromfa[ray]'"
    assert count(store, COUNT_JOBS) == 0


def test_analyze_reuses_active_jobs_and_no_wait_only_queues(store, graph_server, one_graph):
    settings = settings_for(graph_server, store)
    first = api.analyze("neox", wait=False, settings=settings)
    assert len(first.created) == 1 and first.outcomes == []
    assert jobs.get_job(store, first.jids[0]).status == "queued"
    second = api.analyze("neox", settings=settings)  # same parameters: runs the queued job
    assert second.created == [] and second.reused == first.jids
    assert second.counts() == {"done": 1}
    assert [j.status for j in api.jobs(store=store)] == ["done"]
