"""Pydantic's ValidationError as the one ConfigError line every layer raises."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from neuromfa.base.errors import ConfigError, param

M = TypeVar("M", bound=BaseModel)


def config_error(exc: ValidationError, what: str | None = None, hint: str | None = None,
                 model: type[BaseModel] | None = None) -> ConfigError:
    """The first of ``exc``'s errors as one ConfigError line naming its field (pydantic's own
    text spans lines). Fields of settings read from the environment are named by their
    variable (``NEUROMFA_BOLT_PORT``), the others as parameters."""
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": str(exc).splitlines()[0]}
    loc = [str(p) for p in first["loc"]]
    env_prefix = str((model.model_config.get("env_prefix") if model is not None else None) or "")
    field = loc[0] if len(loc) == 1 else None
    if env_prefix:
        where = (env_prefix + loc[0]).upper() if loc else f"{env_prefix}*"
        hint = hint or "fix or unset the environment variable"
    else:
        where = param(field) if field else ".".join(loc)
        hint = hint or (f"check {param(field)} against its allowed values" if field
                        else "check the parameters against their allowed values")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    msg = str(first["msg"]).removeprefix("Value error, ")
    return ConfigError(f"invalid {what or exc.title}: {where + ': ' if where else ''}{msg}{more}", hint,
                       param=None if env_prefix else field)


def validate(model: type[M], /, what: str | None = None, hint: str | None = None, **values: Any) -> M:
    """``model(**values)``, or the ConfigError of ``config_error`` (pydantic's error not chained)."""
    try:
        return model(**values)
    except ValidationError as exc:
        raise config_error(exc, what, hint, model) from None
