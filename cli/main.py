"""The `neuromfa` command: one Typer app; each command group lives in its own module."""

from __future__ import annotations

import importlib
import sys

import typer
from pydantic import ValidationError

from neuromfa.base.errors import NeuromfaError
from neuromfa.cli.console import err_console, report

app = typer.Typer(
    name="neuromfa",
    help="Neuron-based multifractal analysis of neural networks, stored in a graph database.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Each module defines register(app). Order = order in `neuromfa --help`.
COMMAND_MODULES = [
    "neuromfa.cli.demo_commands",
    "neuromfa.cli.db_commands",
    "neuromfa.cli.ingest_commands",
    "neuromfa.cli.analyze_commands",
    "neuromfa.cli.jobs_commands",
    "neuromfa.cli.delete_commands",
    "neuromfa.cli.results_commands",
    "neuromfa.cli.compare_commands",
    "neuromfa.cli.sweep_commands",
    "neuromfa.cli.query_commands",
    "neuromfa.cli.plot_commands",
    "neuromfa.cli.report_commands",
    "neuromfa.cli.metrics_commands",
    "neuromfa.cli.train_commands",
    "neuromfa.cli.experiment_commands",
    "neuromfa.cli.validity_commands",
]

for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def _os_message(exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    if exc.filename is not None:
        return f"cannot write/read {exc.filename}: {reason}"
    return reason


def main() -> None:
    """Entry point: user-facing errors become one line (+ hint) and exit status 1, never a
    traceback. Click/Typer run in standalone mode, so usage errors, --help, no-args help,
    Abort and Ctrl-C print and exit exactly as click does; only NeuromfaError, pydantic's
    ValidationError and OSError (which click does not handle, except a broken pipe) reach the
    handlers below."""
    try:
        app()
    except (NeuromfaError, ValidationError) as exc:
        # a ValidationError: a value that slipped past the commands' own checks into a record
        report(exc)
        sys.exit(1)
    except OSError as exc:
        # a file the user named cannot be written or read (missing folder, permissions, ...)
        report(NeuromfaError(_os_message(exc), "check the path and its permissions"))
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
