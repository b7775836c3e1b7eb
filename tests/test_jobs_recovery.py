"""No stranded jobs, no orphans, on the real local server with real processes and signals: a
pool process killed mid-job, the `analyze` parent killed, a worker reclaiming a stale job,
concurrent enqueues, bulk retry, the server dying under a running command."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

import psutil
import pytest
from cli_helpers import run_cli as cli
from conftest import pick_free_port
from jobs_helpers import COUNT_ANALYSES, COUNT_JOBS, Proc, count, race, store_fixture, store_pythia_shaped, wait_until

from neuromfa.base.errors import ConfigError
from neuromfa.base.settings import HomeSettings
from neuromfa.jobs import queue as jobs
from neuromfa.jobs import worker
from neuromfa.schema.params import AnalysisParams
from neuromfa.schema.records import graph_id
from neuromfa.store.connection import connect
from neuromfa.store.server import LocalServer

HOST = socket.gethostname()
GID0, GID1 = graph_id("neox", 0, 0, 32), graph_id("neox", 1, 0, 32)
SET_HEARTBEAT = "MATCH (j:Job {jid: $jid}) SET j.heartbeat = $when"  # test-only: a worker gone silent
COUNT_FINISHED = "MATCH (j:Job) WHERE j.status IN ['done', 'failed'] RETURN count(j) AS n"
DEAD_PID = 2 ** 22 + 12345  # above Linux's pid_max: no such process
ONE_HOP = AnalysisParams(mode="one-hop")


def ago(seconds: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat(timespec="seconds")


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def descendants(pid: int) -> set[int]:
    try:
        return {p.pid for p in psutil.Process(pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


def held_jobs(store, parent: int) -> dict[str, int]:
    """jid -> pid of the running jobs held by processes under ``parent`` (its pool)."""
    pool = descendants(parent)
    held = {}
    for job in jobs.list_jobs(store, statuses=["running"]):
        host, _, pid = (job.worker or "").rpartition(":")
        if host == HOST and pid.isdigit() and int(pid) in pool:
            held[job.jid] = int(pid)
    return held


def freeze_holders(store, proc: Proc, jid: str | None = None, n: int = 1) -> dict[str, int]:
    """SIGSTOP ``n`` pool processes of ``proc`` while each holds a running job (``jid``, or
    any): frozen, none can finish its job behind the test's back. Returns {jid: pid}."""
    parent = proc.popen.pid

    def attempt():
        if proc.popen.poll() is not None:
            raise AssertionError(f"analyze ended (status {proc.popen.returncode}) first: {proc.output()}")
        frozen = {}
        for held, pid in held_jobs(store, parent).items():
            if jid in (None, held) and len(frozen) < n:
                os.kill(pid, signal.SIGSTOP)
                job = jobs.get_job(store, held)
                if job.status == "running" and job.worker == f"{HOST}:{pid}":
                    frozen[held] = pid
                else:
                    os.kill(pid, signal.SIGCONT)
        if len(frozen) == n:
            return frozen
        for pid in frozen.values():
            os.kill(pid, signal.SIGCONT)
        return None

    return wait_until(attempt, timeout=240, what=f"{n} pool process(es) holding a job", every=0.1)


@pytest.fixture
def reaper():
    """Processes the test started, killed at its end whatever happened (a failed test must not
    leave a pool running): call it with a Proc to watch its whole tree."""
    procs: list[Proc] = []
    yield procs.append
    for proc in procs:
        tree = [proc.popen.pid, *descendants(proc.popen.pid)]
        for pid in tree:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.popen.wait(30)


# -- the local pool ------------------------------------------------------------------------------
@pytest.mark.servers("arcadedb")  # its subject is the pool (~60 s on Neo4j); job statements: both
def test_killed_pool_process_requeues_then_fails_its_job_and_the_run_goes_on(store, db_env, reaper):
    """SIGKILL the pool process running a job: the job is requeued and the run goes on in a new
    pool; kill the process running it again: the job fails with the reason. Every other job is
    done, and nobody sees a traceback."""
    gids = store_pythia_shaped(store, steps=(0, 1, 2, 3), samples=(0,))
    proc = Proc(["analyze", "--model", "big", "--workers", "2"], db_env)
    reaper(proc)
    ((victim, first),) = freeze_holders(store, proc).items()
    os.kill(first, signal.SIGKILL)
    proc.wait_for(f"job {victim} ")  # the parent says what became of it
    second = freeze_holders(store, proc, victim)[victim]  # running again, in a new pool
    assert second != first
    os.kill(second, signal.SIGKILL)
    rc = proc.finish(300)

    out = proc.output()
    assert rc == 1, out  # one job failed
    assert "Traceback" not in out and "BrokenProcessPool" not in out, out
    assert f"job {victim} " in out and "running it again in a new pool" in out
    failed = jobs.get_job(store, victim)
    assert failed.status == "failed" and failed.active_key is None
    assert "pool process died while running it" in failed.error and "2 times" in failed.error
    assert f"job {victim} ({failed.graph}) failed: its pool process died" in out
    others = [j for j in jobs.list_jobs(store) if j.jid != victim]
    assert len(others) == len(gids) - 1 and {j.status for j in others} == {"done"}
    assert count(store, COUNT_ANALYSES) == len(gids) - 1


@pytest.mark.servers("arcadedb")  # its subject is the pool; the give-back race: both servers below
def test_pool_processes_exit_and_give_back_their_jobs_when_analyze_is_killed(store, db_env):
    store_pythia_shaped(store, steps=(0, 1, 2, 3), samples=(0,))
    proc = Proc(["analyze", "--model", "big", "--workers", "2"], db_env)
    held = freeze_holders(store, proc, n=2)  # both mid-job
    tree = descendants(proc.popen.pid)  # pool processes, their fork server, the resource tracker
    os.kill(proc.popen.pid, signal.SIGKILL)
    proc.finish()
    killed = time.monotonic()
    for pid in held.values():
        os.kill(pid, signal.SIGCONT)  # orphans now, with a job in hand
    try:
        wait_until(lambda: not any(alive(p) for p in tree), timeout=10, what="the orphaned processes to exit")
    finally:
        for pid in tree:  # should all be gone; a failure must not leave them running
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    print(f"orphans gone {time.monotonic() - killed:.1f} s after the parent was killed")
    proc.finish()  # its output pipes close with the last orphan
    after = {j.jid: j for j in jobs.list_jobs(store)}
    for jid, pid in held.items():  # released, not finished by an orphan
        assert (after[jid].status, after[jid].worker) == ("queued", None), proc.output()
        assert f"pool process {pid} lost the process that started it; job {jid} given back" in proc.output()
    assert {j.status for j in after.values()} == {"queued"}
    assert count(store, COUNT_ANALYSES) == 0


def test_a_job_claimed_an_instant_before_its_process_dies_is_given_back(store, monkeypatch):
    """An orphaned pool process gives back what it holds; that covers the instant between the
    claim's commit and the job's start (the job is held from before the claim: a process
    frozen there once left its job running until it was reclaimed as stale)."""
    store_fixture(store, "neox", steps=(0,), samples=(0,))
    (jid,), _ = jobs.enqueue(store, [GID0], ONE_HOP)
    claim, said = jobs.claim, []

    def claim_then_exit(*args, **kwargs):
        claim(*args, **kwargs)
        worker.release_held(said.append)  # what the orphan does as it exits, right now
        raise SystemExit(1)

    monkeypatch.setattr(jobs, "claim", claim_then_exit)
    with pytest.raises(SystemExit):
        worker.run_job(store, jid)
    assert said == [f"job {jid} given back to the queue"]
    job = jobs.get_job(store, jid)
    assert (job.status, job.worker) == ("queued", None)


# -- stale jobs ----------------------------------------------------------------------------------
def test_worker_once_reclaims_a_job_whose_heartbeat_is_stale(store, db_env):
    store_fixture(store, "neox", steps=(0, 1), samples=(0,))
    (stale, fresh), _ = jobs.enqueue(store, [GID0, GID1], ONE_HOP)
    old_token = jobs.new_token()
    old = jobs.claim(store, stale, old_token, "other-host:1")
    jobs.claim(store, fresh, jobs.new_token(), "other-host:2")  # just claimed: alive
    store.write(SET_HEARTBEAT, jid=stale, when=ago(10 * jobs.STALE_AFTER_S))

    proc = Proc(["worker", "--once"], db_env)
    assert proc.finish() == 0, proc.output()
    out = proc.output()
    assert f"job {stale} requeued: its worker other-host:1 has not reported for" in out
    assert f"job {stale} ({GID0}) done" in out
    assert jobs.get_job(store, stale).worker == f"{HOST}:{proc.popen.pid}"
    assert jobs.get_job(store, fresh).status == "running"  # a live worker keeps its job

    late = worker.execute(store, old, old_token, "other-host:1")  # the old worker comes back
    assert late.status == "lost" and "taken over" in late.error
    assert count(store, COUNT_ANALYSES) == 1


def test_reclaim_takes_a_job_only_as_it_was_judged(store, graph_server):
    store_fixture(store, "neox", steps=(0,), samples=(0,))
    (jid,), _ = jobs.enqueue(store, [GID0], ONE_HOP)
    token = jobs.new_token()
    jobs.claim(store, jid, token, "other-host:1")
    store.write(SET_HEARTBEAT, jid=jid, when=ago(600))
    judged = jobs.get_job(store, jid)
    assert "has not reported" in jobs.worker_gone(judged)
    assert jobs.heartbeat(store, jid, token, 0.5)  # the worker was only slow: it beats now
    assert not jobs.reclaim(store, judged, "test")
    assert jobs.get_job(store, jid).status == "running"

    store.write(SET_HEARTBEAT, jid=jid, when=ago(600))
    judged = jobs.get_job(store, jid)
    won = race(graph_server, store, 6, lambda own, i: jobs.reclaim(own, judged, f"racer {i}"))
    assert len(won) == 1
    job = jobs.get_job(store, jid)
    assert (job.status, job.claim, job.error) == ("queued", None, f"requeued: racer {won[0]}")


# -- one active job per graph and parameters ---------------------------------------------------
def test_concurrent_enqueues_create_one_job_per_graph(store, graph_server):
    gids = [graph_id("neox", step, 0, 32) for step in range(20)]
    barrier, results = threading.Barrier(4), []

    def racer() -> None:
        with graph_server.connect(store.database) as own:
            barrier.wait()
            results.append(jobs.enqueue(own, gids, ONE_HOP))

    threads = [threading.Thread(target=racer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and count(store, COUNT_JOBS) == len(gids)
    created = [jid for new, _ in results for jid in new]
    assert len(created) == len(set(created)) == len(gids)
    for new, reused in results:  # every caller got every graph's one job, in graph order
        assert len(new) + len(reused) == len(gids) and set(new + reused) == set(created)
    other, _ = jobs.enqueue(store, gids[:1], AnalysisParams(mode="layered"))  # other parameters: another job
    assert len(other) == 1 and count(store, COUNT_JOBS) == len(gids) + 1


def test_a_finished_job_frees_its_graph_and_parameters(store):
    store_fixture(store, "neox", steps=(0,), samples=(0,))
    (first,), _ = jobs.enqueue(store, [GID0], ONE_HOP)
    assert jobs.enqueue(store, [GID0], ONE_HOP) == ([], [first])
    jobs.cancel(store, first)
    (second,), _ = jobs.enqueue(store, [GID0], ONE_HOP)
    with pytest.raises(ConfigError, match="already has a queued or running job") as exc:
        jobs.retry(store, first)  # would make two active jobs
    assert "\n" not in str(exc.value) and jobs.get_job(store, first).status == "cancelled"
    assert worker.run_job(store, second).status == "done"
    (third,), _ = jobs.enqueue(store, [GID0], ONE_HOP)  # done frees the key too
    assert third not in (first, second) and jobs.get_job(store, second).active_key is None
    assert jobs.get_job(store, third).active_key == ONE_HOP.analysis_id(GID0)


# -- bulk retry and the list bound -----------------------------------------------------------------
def test_retry_in_bulk_by_status_and_model(store, db_env, monkeypatch, capsys):
    store_fixture(store, "neox", steps=(0, 1), samples=(0,))
    store_fixture(store, "other", steps=(0,), samples=(0,))
    impossible = AnalysisParams(mode="one-hop", min_mass=10_000)  # no node is eligible: fails
    failing, _ = jobs.enqueue(store, [GID0, GID1, graph_id("other", 0, 0, 32)], impossible)
    assert {worker.run_job(store, jid).status for jid in failing} == {"failed"}
    (dead,), _ = jobs.enqueue(store, [GID0], ONE_HOP)
    jobs.claim(store, dead, jobs.new_token(), f"{HOST}:{DEAD_PID}")  # its worker process is gone

    code, out, err = cli(monkeypatch, capsys, db_env, "jobs", "retry", "--status", "failed", "--model", "neox")
    assert code == 0, err
    assert "2 failed job(s) of model neox queued" in out
    assert [jobs.get_job(store, jid).status for jid in failing] == ["queued", "queued", "failed"]

    code, out, err = cli(monkeypatch, capsys, db_env, "jobs", "retry", "--status", "stale")
    assert code == 0 and "1 stale job(s) queued" in out, err
    job = jobs.get_job(store, dead)
    assert job.status == "queued" and f"{HOST}:{DEAD_PID} no longer exists" in job.error

    for args, message in ((["jobs", "retry"], "give either a job id or --status"),
                          (["jobs", "retry", dead, "--status", "failed"], "give either a job id or --status"),
                          (["jobs", "retry", "--status", "done"], "Invalid value")):
        code, _, err = cli(monkeypatch, capsys, db_env, *args)
        assert code != 0 and message in err and "Traceback" not in err


@pytest.mark.parametrize("limit", ["-5", str(jobs.MAX_LIST_LIMIT + 1)])
def test_jobs_list_limit_is_bounded(db_env, limit, monkeypatch, capsys):
    code, _, err = cli(monkeypatch, capsys, db_env, "jobs", "list", "--limit", limit)
    assert code == 1 and "Traceback" not in err
    assert err.startswith(f"error: --limit must be between 0 (all) and 100,000 (got {limit})")
    code, out, _ = cli(monkeypatch, capsys, db_env, "jobs", "list", "--help")
    assert "up to 100,000; 0 = all" in " ".join(out.split())


# -- the server dies -----------------------------------------------------------------------------
@pytest.fixture
def own_server(tmp_path):
    """A local server of its own (this test kills it; the session's server stays up)."""
    server = LocalServer(HomeSettings(home=tmp_path / "home", bolt_port=pick_free_port(),
                                      http_port=pick_free_port(), db_memory="512m"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("workers", [1, 2])
def test_a_running_analyze_fails_fast_when_the_server_dies(own_server, workers, reaper):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "NEUROMFA_"))}
    env.update(NEO4J_URI=own_server.uri, NEO4J_USERNAME=own_server.username,
               NEO4J_PASSWORD=own_server.password(), NEUROMFA_HOME=str(own_server.home))
    with connect(own_server.uri, own_server.username, own_server.password(), None) as st:
        st.apply_schema()
        # enough jobs that the run is still going when the server dies (a job takes ~0.1 s)
        store_fixture(st, "neox", steps=tuple(range(8)), samples=(0, 1))
        proc = Proc(["analyze", "--model", "neox", "--workers", str(workers)], env)
        reaper(proc)
        wait_until(lambda: count(st, COUNT_FINISHED) > 0, timeout=240, what="a first job finished", every=0.1)
        tree = descendants(proc.popen.pid)
    os.kill(own_server.pid(), signal.SIGKILL)
    died = time.monotonic()
    rc = proc.finish(timeout=180)
    seconds = time.monotonic() - died
    print(f"analyze --workers {workers} failed {seconds:.1f} s after the server died")

    assert rc == 1 and "Traceback" not in proc.output(), proc.output()
    errors = [line for line in proc.err if line.startswith("error:")]
    assert errors == [f"error: cannot reach the graph database at {own_server.uri}\n"], proc.output()
    assert seconds < 30
    wait_until(lambda: not any(alive(p) for p in tree), timeout=10, what="the pool processes to exit")
