"""`neuromfa jobs list|show|cancel|retry` and `neuromfa worker`."""

from __future__ import annotations

import enum
import json
import signal
from pathlib import Path
from typing import Optional

import typer

from neuromfa import api
from neuromfa.base.errors import ConfigError
from neuromfa.cli.common import cli_store
from neuromfa.cli.console import console, err_console
from neuromfa.cli.output import WIDE_HELP, Format, emit
from neuromfa.jobs import queue as jobs_db
from neuromfa.jobs.queue import ACTIVE, FINISHED, HEARTBEAT_S, MAX_LIST_LIMIT, STALE_AFTER_S, JobInfo
from neuromfa.jobs.worker import JobOutcome, worker_loop

jobs_app = typer.Typer(help="List, show, cancel and retry analysis jobs.", no_args_is_help=True)

LIST_COLUMNS = ["jid", "status", "graph", "mode", "progress", "worker", "created", "finished", "error"]


class ShowFormat(str, enum.Enum):
    """`jobs show` prints one job to the terminal, so no Parquet."""

    table = "table"
    json = "json"
    csv = "csv"


def _row(job: JobInfo) -> dict:
    return {**job.model_dump(exclude={"claim"}), "mode": job.mode}


@jobs_app.command("list")
def list_(
    status: Optional[list[str]] = typer.Option(None, "--status", "-s", help=f"Only jobs with this status (repeatable): {', '.join(ACTIVE + FINISHED)}."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Only jobs on graphs of this model."),
    limit: int = typer.Option(200, "--limit", help=f"At most this many jobs (newest first), up to {MAX_LIST_LIMIT:,}; 0 = all."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write to this file instead of the terminal (parquet needs it)."),
    wide: bool = typer.Option(False, "--wide", help=WIDE_HELP),
) -> None:
    """List jobs, newest first."""
    if not 0 <= limit <= MAX_LIST_LIMIT:
        raise ConfigError(f"--limit must be between 0 (all) and {MAX_LIST_LIMIT:,} (got {limit})",
                          "narrow the list with --status or --model")
    shown = limit or MAX_LIST_LIMIT
    with cli_store() as store:
        found = api.jobs(status, model=model, limit=shown + 1, store=store)  # one more: are there more?
    if len(found) > shown:
        found = found[:shown]
        err_console.print(f"showing the newest {shown:,} jobs; more exist (--limit 0 for all, or --status / --model)")
    rows = [_row(j) for j in found]
    if fmt is Format.table:
        rows = [{k: r[k] for k in LIST_COLUMNS} for r in rows]
        if not rows and out is None:
            console.print("no jobs" + (f" with status {', '.join(status)}" if status else ""))
            return
    emit(rows, fmt, title="jobs", out=out, wide=wide, drop_first=["worker", "created", "finished", "progress", "mode"])


@jobs_app.command()
def show(
    jid: str = typer.Argument(..., help="Job id."),
    fmt: ShowFormat = typer.Option(ShowFormat.table, "--format", "-f", help="table (one field per line), json or csv."),
) -> None:
    """Show one job: parameters, status, worker, timings, error."""
    with cli_store() as store:
        job = api.job(jid, store=store)
    row = _row(job)
    row["params"] = json.loads(job.params)
    if fmt is ShowFormat.json:
        console.print_json(json.dumps(row))
        return
    if fmt is ShowFormat.csv:
        row["params"] = job.params
        emit([row], Format.csv)
        return
    for key, value in row.items():
        console.print(f"{key + ':':<11}{'-' if value is None else value}")


@jobs_app.command()
def cancel(jid: str = typer.Argument(..., help="Job id.")) -> None:
    """Cancel a queued or running job (a running one stops before writing anything)."""
    with cli_store() as store:
        job = api.cancel_job(jid, store=store)
    console.print(f"job {job.jid} cancelled")


class RetryChoice(str, enum.Enum):
    failed = "failed"
    cancelled = "cancelled"
    stale = "stale"


STALE_HELP = ("A running job whose worker has not reported for this many seconds counts as abandoned "
              "(a worker on this host that no longer exists counts at once).")


@jobs_app.command()
def retry(
    jid: Optional[str] = typer.Argument(None, help="Job id (or use --status for many)."),
    status: Optional[RetryChoice] = typer.Option(None, "--status", "-s", help="Retry every job in this state: failed, cancelled, or stale (running, its worker gone)."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="With --status: only jobs on graphs of this model."),
    stale_after: float = typer.Option(STALE_AFTER_S, "--stale-after", help=STALE_HELP),
) -> None:
    """Put a failed or cancelled job (or a running one whose worker is gone) back in the queue;
    with --status, every such job."""
    if (jid is None) == (status is None):
        raise ConfigError("give either a job id or --status", "e.g. `neuromfa jobs retry --status failed`")
    if model is not None and status is None:
        raise ConfigError("--model needs --status", "e.g. `neuromfa jobs retry --status failed --model M`")
    if not stale_after >= 0:  # also NaN
        raise ConfigError(f"--stale-after must not be negative (got {stale_after:g})")
    with cli_store() as store:
        if jid is not None:
            job = jobs_db.retry(store, jid, stale_after=stale_after)
            console.print(f"job {job.jid} queued; run it with `neuromfa worker` or `neuromfa analyze`")
            return
        assert status is not None  # exactly one of jid and status (checked above)
        report = jobs_db.retry_many(store, status.value, model=model, stale_after=stale_after)
    for skipped, why in report.skipped:
        err_console.print(f"job {skipped} left as it is: {why}")
    where = f" of model {model}" if model else ""
    console.print(f"{len(report.requeued)} {status.value} job(s){where} queued"
                  + ("; run them with `neuromfa worker` or `neuromfa analyze`" if report.requeued else ""))


def worker(
    once: bool = typer.Option(False, "--once", help="Exit when the queue is empty instead of waiting for more jobs."),
    poll: float = typer.Option(2.0, "--poll", help="Seconds between looks at an empty queue."),
    max_jobs: Optional[int] = typer.Option(None, "--max-jobs", help="Exit after running this many jobs."),
    stale_after: float = typer.Option(STALE_AFTER_S, "--stale-after", help=STALE_HELP + " The worker requeues such jobs and runs them."),
) -> None:
    """Run queued analysis jobs from the database, one at a time, until stopped (Ctrl-C).

    Several workers (processes or machines) can share one database: each job is claimed
    atomically, so no two workers run the same job. Running jobs whose worker is gone are
    requeued and run again."""
    if poll <= 0:
        raise ConfigError(f"--poll must be positive (got {poll})")
    if max_jobs is not None and max_jobs < 1:
        raise ConfigError(f"--max-jobs must be at least 1 (got {max_jobs})")
    if stale_after < HEARTBEAT_S:
        raise ConfigError(f"--stale-after must be at least the heartbeat interval, {HEARTBEAT_S:g} s (got {stale_after:g})",
                          "otherwise live workers lose their jobs")

    def on_outcome(o: JobOutcome) -> None:
        extra = f" {o.aid}" if o.status == "done" else f": {o.error}"
        console.print(f"job {o.jid} ({o.graph}) {o.status}{extra}")

    # SIGTERM stops like Ctrl-C: the job in hand goes back to the queue
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    err_console.print("worker started; waiting for jobs" + (" (exits when the queue is empty)" if once else " (Ctrl-C to stop)"))
    def on_reclaim(jid: str, why: str) -> None:
        err_console.print(f"job {jid} requeued: {why}")

    try:
        with cli_store() as store:
            n = worker_loop(store, once=once, poll=poll, max_jobs=max_jobs, stale_after=stale_after,
                            on_outcome=on_outcome, on_reclaim=on_reclaim)
    except KeyboardInterrupt:
        err_console.print("worker stopped")
        raise typer.Exit(130) from None
    err_console.print(f"worker ran {n} job(s)")


def register(app: typer.Typer) -> None:
    app.add_typer(jobs_app, name="jobs")
    app.command("worker")(worker)
