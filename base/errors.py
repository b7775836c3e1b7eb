"""Errors users see: one line saying what went wrong and what to do."""


class NeuromfaError(Exception):
    """Base of every user-facing error. ``str(err)`` is the one-line message."""

    def __init__(self, message: str, hint: str | None = None):
        self.message = message
        self.hint = hint
        super().__init__(f"{message} ({hint})" if hint else message)


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
