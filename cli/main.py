"""The `neuromfa` command: one Typer app; each command group lives in its own module."""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console

from neuromfa.errors import NeuromfaError

app = typer.Typer(
    name="neuromfa",
    help="Neuron-based multifractal analysis of neural networks, stored in a graph database.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Each module defines register(app). Order = order in `neuromfa --help`.
COMMAND_MODULES = [
    "neuromfa.cli.db_commands",
]

for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)

err_console = Console(stderr=True)


def main() -> None:
    """Entry point: user-facing errors become one line and exit status 1, never a traceback."""
    try:
        app(standalone_mode=False)
    except NeuromfaError as exc:
        err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False)
        if exc.hint:
            err_console.print(f"  hint: {exc.hint}", highlight=False)
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
