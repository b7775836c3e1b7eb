"""Pure parts of the job machinery (no server): parameters, stale workers, executors."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta

import pytest

from neuromfa.base.errors import ConfigError
from neuromfa.jobs.executors import LocalExecutor, make_executor
from neuromfa.jobs.queue import JobInfo, parse_params, worker_gone
from neuromfa.results.tables import _r2_min
from neuromfa.schema.params import AnalysisParams


def ago(seconds: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat(timespec="seconds")


def job(**kw) -> JobInfo:
    base = dict(jid="j1", graph="m@0/s0/k32/reference", params=AnalysisParams().model_dump_json(), status="running")
    return JobInfo(**{**base, **kw})


def test_parse_params_defaults_and_overrides():
    assert parse_params() == AnalysisParams()
    p = parse_params(mode="one-hop", threshold=None, q_min=-2.0, q_max=2.0, q_step=0.5)
    assert (p.mode, p.threshold, p.q_grid().tolist()) == ("one-hop", 150.0, [-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0])


@pytest.mark.parametrize("values, fragment", [
    (dict(threshold=0.5), "threshold: Input should be greater than 1"),
    (dict(q_step=0.0), "q_step: Input should be greater than 0"),
    (dict(min_mass=-1), "min_mass"),
    (dict(q_min=-0.05, q_max=1.0, q_step=0.1), "does not contain q = 0"),
])
def test_parse_params_errors_are_one_line(values, fragment):
    with pytest.raises(ConfigError) as exc:
        parse_params(**values)
    assert fragment in exc.value.message and "\n" not in str(exc.value)


def test_worker_gone_rules():
    me = f"{socket.gethostname()}:{os.getpid()}"
    assert worker_gone(job(worker=me, heartbeat=ago(5))) is None  # alive, recent
    assert "has not reported for" in worker_gone(job(worker=me, heartbeat=ago(700)), stale_after=600)
    dead = f"{socket.gethostname()}:{2 ** 22 + 12345}"  # above pid_max: no such process
    assert "no longer exists" in worker_gone(job(worker=dead, heartbeat=ago(1)))
    assert worker_gone(job(worker="elsewhere:1", heartbeat=ago(30))) is None  # other host: heartbeat only
    assert "has not reported" in worker_gone(job(worker="elsewhere:1", started=ago(900)))  # no beat yet: started


def test_job_info_mode_and_params():
    j = job(params=AnalysisParams(mode="layered", threshold=80).model_dump_json())
    assert j.mode == "layered" and j.analysis_params.threshold == 80


def test_r2_min_skips_missing_values():
    assert _r2_min([0.9, None, float("nan"), 0.7, 1.0]) == 0.7
    assert _r2_min([]) is None and _r2_min(None) is None


def test_executor_choices():
    assert isinstance(make_executor("local", workers=2), LocalExecutor)
    with pytest.raises(ConfigError, match="at least 1"):
        make_executor("local", workers=0)
    with pytest.raises(ConfigError, match="ray_address needs executor='ray'"):
        make_executor("local", ray_address="auto")
    with pytest.raises(ConfigError, match="unknown executor"):
        make_executor("spark")
