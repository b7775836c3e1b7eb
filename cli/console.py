"""The CLI's one console pair and its error renderer.

Both consoles print text as it is (no rich markup, no highlighting): model names, file paths and
server messages hold brackets. The renderer words a library error's marks (``base.errors``) as
this command's flags and subcommands: ``null_samples`` -> ``--null-samples``,
``k`` -> ``--neurons/-k``, ``action("analyze", model=m)`` -> ``neuromfa analyze --model m``.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError
from rich.console import Console
from rich.text import Text

from neuromfa.base.errors import NO_VALUE, NeuromfaError, Wording
from neuromfa.base.validation import config_error

console = Console(highlight=False, soft_wrap=True, markup=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)

# Parameter -> flag where the flag is not "--" + the name with '-' for '_'.
FLAGS: dict[str, str] = {
    "k": "--neurons/-k",
    "steps": "--step",
    "thresholds": "--threshold",
    "params": "--param",
    "fmt": "--format",
    "path": "PATH",
}

# Operation -> (subcommand, its positional parameters in order).
COMMANDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "analyze": ("analyze", ()),
    "ingest": ("ingest", ("path",)),
    "graphs": ("graphs", ()),
    "jobs": ("jobs list", ()),
    "job": ("jobs show", ("jid",)),
    "retry_job": ("jobs retry", ("jid",)),
    "work": ("worker", ()),
    "db_start": ("db start", ()),
    "list_queries": ("query --list", ()),
    "query": ("query", ("name",)),
    "train_example": ("train-example", ("out_dir",)),
}


def flag(name: str) -> str:
    """The flag of parameter ``name``."""
    return FLAGS.get(name, "--" + name.replace("_", "-"))


def _value(value: object) -> str:
    text = str(value)
    return repr(text) if not text or any(c.isspace() for c in text) else text


class CliWording(Wording):
    """Marks worded as this command's flags and subcommands."""

    def param(self, name: str, value: object = NO_VALUE) -> str:
        mapping, _, key = name.rpartition(".")
        if mapping:  # --param key=value
            if value is NO_VALUE:
                return f"{flag(mapping)} {key}"
            return f"{flag(mapping)} {key}={'...' if value is None else _value(value)}"
        if value is NO_VALUE:
            return flag(name)
        if isinstance(value, bool):
            return flag(name) if value else f"--no-{flag(name).removeprefix('--')}"
        shown = flag(name).split("/")[0]
        values = value if isinstance(value, list) else [value]
        return " ".join(f"{shown} {'...' if v is None else _value(v)}" for v in values)

    def action(self, name: str, params: Mapping[str, object]) -> str:
        command, positional = COMMANDS.get(name, (name.replace("_", "-"), ()))
        words = ["neuromfa", command]
        words += [p.upper() if params[p] is None else _value(params[p]) for p in positional if p in params]
        for key, value in params.items():
            if key not in positional:
                words.append(self.param(key, value))
        return "`" + " ".join(words) + "`"


CLI = CliWording()


def error_lines(exc: NeuromfaError) -> tuple[str, str | None]:
    """The error's message and hint in the CLI's words."""
    return CLI.render(exc.marked_message) or "", CLI.render(exc.marked_hint)


def report(exc: NeuromfaError | ValidationError) -> None:
    """One error line (+ hint) on stderr; a pydantic error becomes the same ConfigError the
    library raises (``base.validation``)."""
    err = config_error(exc) if isinstance(exc, ValidationError) else exc
    message, hint = error_lines(err)
    err_console.print(Text.assemble(("error:", "bold red"), " ", message))
    if hint:
        err_console.print(f"  hint: {hint}")
