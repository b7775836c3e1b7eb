"""Errors users see: one line saying what went wrong and what to do.

Library texts name *parameters* and *operations*, never CLI flags or shell commands: they mark
them with ``param("null_samples")`` (``param("null", "shuffle")`` for a setting of it) and
``action("analyze", model=name)``. ``str(err)``, ``err.message`` and ``err.hint`` word the marks
for Python (``null_samples``, ``null='shuffle'``, ``api.analyze(model='m')``); the CLI's renderer
(``neuromfa.cli.console``) words the same marks as its flags and commands.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

# A mark is JSON between two ASCII separators: json.dumps escapes both in any value it holds,
# and neither appears in what servers or users write, so marks never clash with quoted text.
_OPEN, _CLOSE = "\x1e", "\x1f"
_MARK = re.compile(f"{_OPEN}([^{_CLOSE}]*){_CLOSE}")


def _mark(payload: dict[str, Any]) -> str:
    return _OPEN + json.dumps(payload, default=str) + _CLOSE


def param(name: str, *value: object) -> str:
    """A reference to the parameter ``name`` in an error text; with ``value``, a setting of it
    (None: a value the user fills in). ``params.kind`` is the key ``kind`` of ``params``."""
    return _mark({"param": name, "value": value[0]} if value else {"param": name})


def action(name: str, /, **params: object) -> str:
    """An operation the user can run (``analyze``, ``ingest``, ``graphs``, ``jobs``, ...) with
    some of its parameters; a value of None stands for one the user fills in."""
    return _mark({"action": name, "params": params})


# The Python name of each operation an error text may point to (default: ``api.NAME``).
PYTHON_ACTIONS: dict[str, str] = {
    "db_start": "neuromfa.store.server.LocalServer().start",
    "list_queries": "neuromfa.queries.library.list_queries",
    "query": "neuromfa.queries.run_query",
    "train_example": "neuromfa.training.train_example.train_example",
}

NO_VALUE = object()  # a param mark without a value


class Wording:
    """How marks read. This one is Python's: parameter names and API calls; the CLI words them
    as flags and commands by overriding ``param`` and ``action``."""

    def param(self, name: str, value: object = NO_VALUE) -> str:
        """``name`` or ``name=value``; ``mapping.key`` is a key of a mapping parameter (a named
        query's ``params``), a value of None one the user fills in."""
        name = name.rpartition(".")[2]
        if value is NO_VALUE:
            return name
        return f"{name}={'...' if value is None else repr(value)}"

    def action(self, name: str, params: Mapping[str, object]) -> str:
        args = ", ".join(f"{k}={'...' if v is None else repr(v)}" for k, v in params.items())
        return f"`{PYTHON_ACTIONS.get(name, 'api.' + name)}({args})`"

    def render(self, text: str | None) -> str | None:
        """``text`` with every mark worded (None stays None)."""
        return None if text is None else _MARK.sub(self._word, text)

    def _word(self, match: re.Match[str]) -> str:
        mark = json.loads(match.group(1))
        if "action" in mark:
            return self.action(mark["action"], mark["params"])
        return self.param(mark["param"], mark.get("value", NO_VALUE))


PYTHON = Wording()


class NeuromfaError(Exception):
    """Base of every user-facing error. ``str(err)`` is the one-line message (and hint).

    ``marked_message`` / ``marked_hint`` keep the marks for a renderer; ``message`` and ``hint``
    are their Python wording. ``param`` names the offending parameter, when there is one.
    """

    def __init__(self, message: str, hint: str | None = None, *, param: str | None = None):
        self.marked_message = message
        self.marked_hint = hint
        self.param = param
        text = PYTHON.render(message)
        super().__init__(f"{text} ({PYTHON.render(hint)})" if hint else text)

    @property
    def message(self) -> str:
        return PYTHON.render(self.marked_message) or ""

    @property
    def hint(self) -> str | None:
        return PYTHON.render(self.marked_hint)

    def __reduce__(self) -> tuple[Any, ...]:  # pickled across processes (pool workers) with its marks and param
        return (_rebuild, (type(self), self.marked_message, self.marked_hint, self.param))


def _rebuild(cls: type[NeuromfaError], message: str, hint: str | None, param: str | None) -> NeuromfaError:
    err = cls.__new__(cls)
    NeuromfaError.__init__(err, message, hint, param=param)
    return err


class ConfigError(NeuromfaError):
    """A wrong parameter or setting."""


class DatabaseError(NeuromfaError):
    """The graph database is down, refuses the credentials or rejected a statement."""


class ModelError(NeuromfaError):
    """A model file is missing, corrupt, unsupported or holds NaN/inf weights."""


class AnalysisError(NeuromfaError):
    """The analysis cannot run on this input (empty graph, no eligible node, ...)."""


class NotFoundError(NeuromfaError):
    """A model, graph, analysis or job that does not exist."""
