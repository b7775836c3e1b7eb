"""`neuromfa worker ARGS...` with a pause inside every write-back: ``pausing_worker.py SECONDS ARGS...``.

The worker's injected ``before_commit`` hook sleeps SECONDS inside the write-back transaction,
after every result is written and before the commit, and says so on stderr first (tests kill or
cancel the worker there to show that nothing partial remains)."""

from __future__ import annotations

import functools
import sys
import time

from neuromfa.cli import jobs_commands
from neuromfa.cli.main import main
from neuromfa.jobs import worker

PAUSED = "write-back of job {jid} paused"  # what the tests wait for on stderr


def pause(seconds: float, jid: str) -> None:
    print(f"{PAUSED.format(jid=jid)} for {seconds} s", file=sys.stderr, flush=True)
    time.sleep(seconds)


if __name__ == "__main__":
    seconds, args = float(sys.argv[1]), sys.argv[2:]
    jobs_commands.worker_loop = functools.partial(worker.worker_loop, before_commit=functools.partial(pause, seconds))
    sys.argv = ["neuromfa", "worker", *args]
    main()
