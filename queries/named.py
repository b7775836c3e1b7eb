"""Every named query as a Python function returning a DataFrame.

    from neuromfa.queries import named
    named.strongest_synapses(kind="attn_out", block=0, limit=5)
    help(named.emergence)            # description, parameters with types and defaults

The function for query ``a-b`` is ``a_b``; its keyword parameters are the query's (typed and
defaulted from its header) plus ``store`` (an open Store; None opens the configured database).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pandas as pd

from neuromfa.queries.library import QueryInfo, list_queries
from neuromfa.queries.runner import run_named

_PY_TYPES = {"int": int, "float": float, "str": str, "bool": bool}


def _docstring(info: QueryInfo) -> str:
    lines = [info.description, "", "Parameters:"]
    for p in info.params:
        default = "required" if p.required else f"default {p.spec().split('=', 1)[1]}"
        lines.append(f"    {p.name} ({p.type}{p.constraint()}, {default}): {p.description}")
    lines.append("    store: an open Store; None opens the configured database")
    lines += ["", f"Returns a DataFrame with columns: {', '.join(info.returns)}."]
    lines += [f"Note: {n}" for n in info.notes]
    return "\n".join(lines)


def query_function(info: QueryInfo) -> Callable[..., pd.DataFrame]:
    """A function running ``info`` with keyword parameters (see the module docstring)."""

    def run(*, store: Any = None, **params: Any) -> pd.DataFrame:
        return run_named(info, params, store=store).frame()

    run.__name__ = run.__qualname__ = info.name.replace("-", "_")
    run.__doc__ = _docstring(info)
    run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY,
                           default=inspect.Parameter.empty if p.required else p.default,
                           annotation=_PY_TYPES[p.type] | None if not p.required else _PY_TYPES[p.type])
         for p in info.params]
        + [inspect.Parameter("store", inspect.Parameter.KEYWORD_ONLY, default=None)],
        return_annotation=pd.DataFrame,
    )
    return run


def _functions() -> dict[str, Callable[..., pd.DataFrame]]:
    return {info.name.replace("-", "_"): query_function(info) for info in list_queries()}


def __getattr__(name: str) -> Callable[..., pd.DataFrame]:
    functions = _functions()
    if name in functions:
        return functions[name]
    raise AttributeError(f"no named query function {name!r}; see dir(neuromfa.queries.named)")


def __dir__() -> list[str]:
    return sorted(_functions())
