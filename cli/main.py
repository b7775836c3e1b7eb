"""The `neuromfa` command: one Typer app; each command group lives in its own module."""

from __future__ import annotations

import importlib
import sys

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.text import Text

from neuromfa.base.errors import NeuromfaError

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
    "neuromfa.cli.results_commands",
    "neuromfa.cli.sweep_commands",
    "neuromfa.cli.query_commands",
    "neuromfa.cli.plot_commands",
    "neuromfa.cli.report_commands",
    "neuromfa.cli.metrics_commands",
    "neuromfa.cli.train_commands",
    "neuromfa.cli.experiment_commands",
]

for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)

err_console = Console(stderr=True)


def _report(message: str, hint: str | None) -> None:
    """One error line (+ hint), never parsed as rich markup: server messages hold brackets."""
    err_console.print(Text.assemble(("error:", "bold red"), " ", message), highlight=False, soft_wrap=True)
    if hint:
        err_console.print(f"  hint: {hint}", markup=False, highlight=False, soft_wrap=True)


def _os_message(exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    if exc.filename is not None:
        return f"cannot write/read {exc.filename}: {reason}"
    return reason


def _validation_message(exc: ValidationError) -> str:
    """The first pydantic error as one line naming the field (pydantic's own text spans lines)."""
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": str(exc).splitlines()[0]}
    where = ".".join(str(p) for p in first["loc"])
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"invalid {exc.title}: {where + ': ' if where else ''}{first['msg'].removeprefix('Value error, ')}{more}"


def main() -> None:
    """Entry point: user-facing errors become one line (+ hint) and exit status 1, never a
    traceback. Click/Typer run in standalone mode, so usage errors, --help, no-args help,
    Abort and Ctrl-C print and exit exactly as click does; only NeuromfaError, pydantic's
    ValidationError and OSError (which click does not handle, except a broken pipe) reach the
    handlers below."""
    try:
        app()
    except NeuromfaError as exc:
        _report(exc.message, exc.hint)
        sys.exit(1)
    except ValidationError as exc:
        # a value that slipped past the commands' own checks into a record
        _report(_validation_message(exc), "see the command's --help for the allowed values")
        sys.exit(1)
    except OSError as exc:
        # a file the user named cannot be written or read (missing folder, permissions, ...)
        _report(_os_message(exc), "check the path and its permissions")
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
