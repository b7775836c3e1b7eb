"""Unit tests of JobRepository against the recording store: the statement each method runs (by
name, with which parameters) and what it makes of the rows it gets back. No server."""

from __future__ import annotations

import pytest
from recording_store import Call, RecordingStore

from neuromfa.schema.params import AnalysisParams
from neuromfa.schema.records import JobRecord
from neuromfa.store.jobs import Enqueued, JobInfo, JobLost, JobRepository, NewJob, check_held, finish

PARAMS = AnalysisParams(mode="one-hop").model_dump_json()
JOB_ROW = {"jid": "j1", "kind": "analyze", "graph": "m@0/s0/k2/reference", "params": PARAMS, "status": "running",
           "progress": 0.3, "error": None, "worker": "host:12", "aid": None, "created": "2025-01-01T00:00:00+00:00",
           "started": "2025-01-01T00:00:01+00:00", "finished": None, "heartbeat": "2025-01-01T00:00:02+00:00",
           "claim": "c1", "active_key": "a1"}


def only_call(rec: RecordingStore) -> Call:
    assert len(rec.calls) == 1 and rec.unused() == {}
    return rec.calls[0]


def timestamped(call: Call) -> dict[str, object]:
    """The call's parameters without ``now`` (asserted to be an ISO time)."""
    params = dict(call.params)
    assert "T" in params.pop("now")
    return params


def test_create_sends_named_rows_and_reads_which_were_created():
    record = JobRecord(jid="j1", graph="g1", params=PARAMS, created="2025-01-01T00:00:00+00:00")
    rec = RecordingStore().queue("job_create", [{"graph": "g1", "jid": "j1", "created": True},
                                                {"graph": "g2", "jid": "old", "created": False}])
    new = [NewJob.of(record, "k1"), NewJob(jid="j2", kind="analyze", graph="g2", params=PARAMS, created="t", key="k2")]
    found = JobRepository(rec).create(new)
    assert found == [Enqueued(graph="g1", jid="j1", created=True), Enqueued(graph="g2", jid="old", created=False)]
    assert only_call(rec) == Call("job_create", {"rows": [
        {"jid": "j1", "kind": "analyze", "graph": "g1", "params": PARAMS, "created": "2025-01-01T00:00:00+00:00", "key": "k1"},
        {"jid": "j2", "kind": "analyze", "graph": "g2", "params": PARAMS, "created": "t", "key": "k2"}]})


def test_find_builds_job_info_and_none_when_absent():
    rec = RecordingStore().queue("job_get", [JOB_ROW], [])
    repo = JobRepository(rec)
    job = repo.find("j1")
    assert job == JobInfo(**JOB_ROW)
    assert (job.mode, job.analysis_params.mode, job.claim, job.active_key) == ("one-hop", "one-hop", "c1", "a1")
    assert repo.find("nope") is None
    assert rec.calls == [Call("job_get", {"jid": "j1"}), Call("job_get", {"jid": "nope"})]


def test_list_passes_every_filter_and_null_for_absent_ones():
    rec = RecordingStore().queue("job_list", [JOB_ROW])
    repo = JobRepository(rec)
    assert repo.list_jobs(statuses=("running", "queued"), jids=iter(["j1"]), prefix="m@", limit=5) == [JobInfo(**JOB_ROW)]
    assert repo.list_jobs() == []
    assert rec.calls == [
        Call("job_list", {"statuses": ["running", "queued"], "jids": ["j1"], "prefix": "m@", "limit": 5}),
        Call("job_list", {"statuses": None, "jids": None, "prefix": None, "limit": 1000}),
    ]


def test_queued_returns_the_ids_in_order():
    rec = RecordingStore().queue("job_queued", [{"jid": "a"}, {"jid": "b"}])
    assert JobRepository(rec).queued(7) == ["a", "b"]
    assert only_call(rec) == Call("job_queued", {"limit": 7})


@pytest.mark.parametrize("rows, expected", [([{"jid": "j1"}], True), ([], False)])
def test_worker_side_changes_report_whether_they_matched(rows, expected):
    for name, call, params in [
        ("job_claim", lambda r: r.claim("j1", "tok", "host:1"), {"jid": "j1", "token": "tok", "worker": "host:1"}),
        ("job_heartbeat", lambda r: r.heartbeat("j1", "tok", 1), {"jid": "j1", "token": "tok", "progress": 1.0}),
        ("job_fail", lambda r: r.fail("j1", "tok", "boom"), {"jid": "j1", "token": "tok", "error": "boom"}),
        ("job_cancel", lambda r: r.cancel("j1", "lock", "cancelled by me"),
         {"jid": "j1", "token": "lock", "reason": "cancelled by me"}),
    ]:
        rec = RecordingStore().queue(name, rows)
        assert call(JobRepository(rec)) is expected
        got = only_call(rec)
        assert got.name == name and timestamped(got) == params


@pytest.mark.parametrize("rows, expected", [([{"jid": "j1"}], True), ([], False)])
def test_release_reclaim_and_requeue_check_the_job_as_read(rows, expected):
    job = JobInfo(**JOB_ROW)
    bare = JobInfo(**{**JOB_ROW, "status": "failed", "claim": None, "heartbeat": None})
    for name, call, params in [
        ("job_release", lambda r: r.release("j1", "tok"), {"jid": "j1", "token": "tok"}),
        ("job_reclaim", lambda r: r.reclaim(job, "lock", "requeued: gone"),
         {"jid": "j1", "token": "lock", "claim": "c1", "heartbeat": "2025-01-01T00:00:02+00:00", "reason": "requeued: gone"}),
        ("job_reclaim", lambda r: r.reclaim(bare, "lock", "why"),  # nothing read: matched as ''
         {"jid": "j1", "token": "lock", "claim": "", "heartbeat": "", "reason": "why"}),
        ("job_requeue", lambda r: r.requeue(bare, "lock", "k1"),
         {"jid": "j1", "token": "lock", "status": "failed", "claim": "", "key": "k1"}),
    ]:
        rec = RecordingStore().queue(name, rows)
        assert call(JobRepository(rec)) is expected
        assert only_call(rec) == Call(name, params)


def test_check_held_passes_only_a_running_job_under_this_claim():
    rec = RecordingStore().queue("writeback_check", [{"status": "running", "claim": "tok"}])
    with rec.named_transaction() as tx:
        check_held(tx, "j1", "tok")
    assert rec.calls == [Call("writeback_check", {"jid": "j1", "token": "tok"}, 1)]


@pytest.mark.parametrize("rows, status, words", [
    ([{"status": "cancelled", "claim": "tok"}], "cancelled", "was cancelled"),
    ([{"status": "running", "claim": "other"}], "running", "taken over by another worker"),
    ([{"status": "queued", "claim": None}], "queued", "taken over by another worker"),
    ([], "missing", "was deleted"),
])
def test_check_held_raises_job_lost_otherwise(rows, status, words):
    rec = RecordingStore().queue("writeback_check", rows)
    with pytest.raises(JobLost, match=words) as err, rec.named_transaction() as tx:
        check_held(tx, "j1", "tok")
    assert err.value.status == status and rec.rolled_back == [1]


def test_finish_marks_the_job_done_in_the_callers_transaction():
    rec = RecordingStore()
    with rec.named_transaction() as tx:
        finish(tx, "j1", "aid1")
    (call,) = rec.calls
    assert call.name == "job_done" and call.tx == 1 and timestamped(call) == {"jid": "j1", "aid": "aid1"}
    assert rec.committed == [1]
