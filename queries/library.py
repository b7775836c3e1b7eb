"""The named query library: queries/NAME.cypher files and their // headers.

A header is the block of ``//`` comment lines at the top of a file::

    // name: strongest-synapses
    // description: The strongest synapses leaving one layer of a graph.
    // param: kind str(input|qkv|context|attn_out|mlp_hidden|output) = "mlp_hidden" -- layer kind
    // param: limit int(>=0) = 20 -- how many synapses to return
    // param: graph str = null -- Graph gid; null = the most recently created graph
    // returns: graph, src_index, dst_kind, dst_block, dst_index, w, d
    // example: neuromfa query strongest-synapses --param kind=attn_out
    // note: anything a user should know (optional, repeatable)

``param: NAME TYPE[(CHOICE|CHOICE...)] [= DEFAULT] [-- DESCRIPTION]`` with TYPE one of int,
float, str, bool; for int and float, ``(>=N)`` or ``(>N)`` in place of the choices is a lower
bound. No default means required; ``= null`` means optional and sent as null.
``returns`` lists the columns in order (the frame's columns even when no row comes back).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from difflib import get_close_matches
from functools import lru_cache
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field

from neuromfa.base.errors import ConfigError, action, param
from neuromfa.store.statements import package_files

ParamType = Literal["int", "float", "str", "bool"]
Value = int | float | str | bool | None

_PARAM_RE = re.compile(
    r"^(?P<name>[A-Za-z_]\w*)\s+(?P<type>int|float|str|bool)"
    r"(?:\((?P<choices>[^)]*)\))?"
    r"(?:\s*=\s*(?P<default>.*?))?"
    r"\s*(?:--\s*(?P<desc>.*))?$"
)
_KEY_RE = re.compile(r"^(?P<key>[a-z]+):\s*(?P<value>.*)$")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_USED_PARAM_RE = re.compile(r"\$([A-Za-z_]\w*)")
_BOUND_RE = re.compile(r"^(?P<op>>=|>)\s*(?P<value>[+-]?\d+(?:\.\d+)?)$")
_INT_RE = re.compile(r"^\s*[+-]?\d+\s*$")
_TRUE = {"true", "1", "yes", "y", "on"}
_FALSE = {"false", "0", "no", "n", "off"}


class QueryParam(BaseModel):
    """One typed parameter of a named query."""

    model_config = ConfigDict(frozen=True)

    name: str
    type: ParamType
    required: bool
    default: Value = None
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    exclusive_minimum: bool = False
    description: str = ""

    def constraint(self) -> str:
        """``(a|b)``, ``(>=1)`` or nothing."""
        if self.choices:
            return f"({'|'.join(self.choices)})"
        if self.minimum is not None:
            bound = int(self.minimum) if float(self.minimum).is_integer() else self.minimum
            return f"({'>' if self.exclusive_minimum else '>='}{bound})"
        return ""

    def default_text(self) -> str:
        """The default as listings show it: ``required``, ``null``, ``1000``, ``"attn_out"``."""
        return "required" if self.required else _show(self.default)

    def spec(self) -> str:
        """Short form for listings: ``limit:int(>=0)=20``."""
        kind = self.type + self.constraint()
        if self.required:
            return f"{self.name}:{kind}"
        return f"{self.name}:{kind}={_show(self.default)}"


class QueryInfo(BaseModel):
    """A named query: its header and its Cypher text."""

    model_config = ConfigDict(frozen=True)

    name: str
    description: str
    params: tuple[QueryParam, ...] = ()
    returns: tuple[str, ...]
    example: str
    notes: tuple[str, ...] = ()
    text: str = Field(repr=False)

    def param(self, name: str) -> QueryParam:
        for p in self.params:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.params) or "none"
        raise ConfigError(
            f"query {self.name!r} has no parameter {name!r}",
            hint=f"its parameters are: {known}",
        )


def _show(value: Value) -> str:
    return "null" if value is None else json.dumps(value) if isinstance(value, (str, bool)) else str(value)


def parse_value(param: QueryParam, raw: Any) -> Value:
    """The value ``raw`` (a string from the command line, or a Python value) as ``param``'s type.

    Raises ConfigError naming the parameter when it does not fit.
    """
    def bad(why: str) -> ConfigError:
        return ConfigError(
            f"parameter {param.name!r} ({param.type}): {why}",
            hint=f"{param.name} takes a{'n' if param.type == 'int' else ''} {param.type}"
                 + (f" ({' | '.join(param.choices)})" if param.choices else "")
                 + (f" {param.constraint()[1:-1]}" if param.minimum is not None else "")
                 + (" or null" if not param.required and param.default is None else "")
                 + (f": {param.description}" if param.description else ""),
        )

    if raw is None or (isinstance(raw, str) and raw.strip() == "null"):
        if param.required:
            raise bad("a value is required, not null")
        return None
    if param.type == "bool":
        if isinstance(raw, bool):
            value: Value = raw
        elif isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            value = raw.strip().lower() in _TRUE
        else:
            raise bad(f"{raw!r} is not true or false")
    elif param.type == "int":
        if isinstance(raw, int) and not isinstance(raw, bool):
            value = raw
        elif isinstance(raw, float) and raw.is_integer() or isinstance(raw, str) and _INT_RE.match(raw):
            value = int(raw)
        else:
            raise bad(f"{raw!r} is not an integer")
    elif param.type == "float":
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
            raise bad(f"{raw!r} is not a number")
        try:
            value = float(raw)
        except ValueError:
            raise bad(f"{raw!r} is not a number") from None
        if not math.isfinite(value):
            raise bad(f"{raw!r} is not a finite number")
    else:
        if not isinstance(raw, str):
            raise bad(f"{raw!r} is not a string")
        value = raw
    if param.choices is not None and value not in param.choices:
        raise bad(f"{value!r} is not one of {', '.join(param.choices)}")
    if param.minimum is not None and isinstance(value, (int, float)) and (
            value < param.minimum or (param.exclusive_minimum and value == param.minimum)):
        raise bad(f"{value!r} is not {param.constraint()[1:-1]}")
    return value


def _parse_default(param_type: ParamType, text: str, where: str) -> Value:
    text = text.strip()
    if text == "null":
        return None
    if param_type == "str":
        if len(text) >= 2 and text[0] == text[-1] == '"':
            return json.loads(text)
        raise ValueError(f"{where}: a str default must be double-quoted or null, got {text!r}")
    probe = QueryParam(name="default", type=param_type, required=True)
    try:
        return parse_value(probe, text)
    except ConfigError as exc:
        raise ValueError(f"{where}: bad default {text!r} ({exc.message})") from None


def _parse_param(line: str, origin: str) -> QueryParam:
    """One ``param:`` header value (see the module docstring)."""
    pm = _PARAM_RE.match(line)
    if not pm:
        raise ValueError(f"{origin}: bad param line {line!r}")
    choices, minimum, exclusive = None, None, False
    inner = (pm["choices"] or "").strip()
    bound = _BOUND_RE.match(inner)
    if bound:
        if pm["type"] not in ("int", "float"):
            raise ValueError(f"{origin}: a lower bound needs an int or float parameter")
        minimum, exclusive = float(bound["value"]), bound["op"] == ">"
    elif inner:
        choices = tuple(c.strip() for c in inner.split("|"))
    required = pm["default"] is None
    default = None if required else _parse_default(
        cast(ParamType, pm["type"]), pm["default"], f"{origin} param {pm['name']}")
    param = QueryParam(name=pm["name"], type=pm["type"], required=required, default=default,
                       choices=choices, minimum=minimum, exclusive_minimum=exclusive,
                       description=(pm["desc"] or "").strip())
    if default is not None and minimum is not None:
        try:
            parse_value(param, default)
        except ConfigError as exc:
            raise ValueError(f"{origin}: bad default of {param.name} ({exc.message})") from None
    if default is not None and choices is not None and default not in choices:
        raise ValueError(f"{origin}: default of {param.name} is not one of its choices")
    return param


def parse_query(source: str, origin: str = "<query>") -> QueryInfo:
    """Parse one query file: header keys and the Cypher body.

    Raises ValueError (a broken library file is a bug in the package, not a user error) when the
    header is incomplete, a parameter is malformed, or the body uses an undeclared $parameter
    or declares one it never uses.
    """
    header: list[str] = []
    body: list[str] = []
    in_header = True
    for line in source.splitlines():
        stripped = line.strip()
        if in_header and stripped.startswith("//"):
            header.append(stripped[2:].strip())
            continue
        if in_header and not stripped:
            continue
        in_header = False
        if not stripped.startswith("//"):
            body.append(line.rstrip())
    fields: dict[str, str] = {}
    params: list[QueryParam] = []
    notes: list[str] = []
    last: str | None = None
    for entry in header:
        m = _KEY_RE.match(entry)
        if not m:
            if last in ("description", "note") and entry:
                # continuation line of a long description / note
                if last == "description":
                    fields["description"] += " " + entry
                else:
                    notes[-1] += " " + entry
                continue
            raise ValueError(f"{origin}: unreadable header line {entry!r}")
        key, value = m["key"], m["value"].strip()
        last = key
        if key == "param":
            param = _parse_param(value, origin)
            if any(p.name == param.name for p in params):
                raise ValueError(f"{origin}: parameter {param.name} declared twice")
            params.append(param)
        elif key == "note":
            notes.append(value)
        elif key in ("name", "description", "example", "returns"):
            if key in fields:
                raise ValueError(f"{origin}: header key {key!r} given twice")
            fields[key] = value
        else:
            raise ValueError(f"{origin}: unknown header key {key!r}")
    missing = [k for k in ("name", "description", "returns", "example") if not fields.get(k)]
    if missing:
        raise ValueError(f"{origin}: header lacks {', '.join(missing)}")
    if not _NAME_RE.match(fields["name"]):
        raise ValueError(f"{origin}: query name {fields['name']!r} must be lower-case words joined by '-'")
    text = "\n".join(body).strip()
    if not text:
        raise ValueError(f"{origin}: no Cypher after the header")
    used = set(_USED_PARAM_RE.findall(text))
    declared = {p.name for p in params}
    if used - declared:
        raise ValueError(f"{origin}: uses undeclared parameter(s) {sorted(used - declared)}")
    if declared - used:
        raise ValueError(f"{origin}: declares unused parameter(s) {sorted(declared - used)}")
    returns = tuple(c.strip() for c in fields["returns"].split(","))
    words = set(re.findall(r"\w+", text))
    if any(not c for c in returns) or len(set(returns)) != len(returns):
        raise ValueError(f"{origin}: returns must list distinct column names")
    if set(returns) - words:
        raise ValueError(f"{origin}: returns names column(s) {sorted(set(returns) - words)} "
                         "the body never mentions")
    return QueryInfo(
        name=fields["name"],
        description=fields["description"],
        params=tuple(params),
        returns=returns,
        example=fields["example"],
        notes=tuple(notes),
        text=text,
    )


@lru_cache(maxsize=1)
def _library() -> dict[str, QueryInfo]:
    found: dict[str, QueryInfo] = {}
    for entry in package_files("neuromfa.queries"):
        info = parse_query(entry.read_text(), origin=f"queries/{entry.name}")
        if f"{info.name}.cypher" != entry.name:
            raise ValueError(f"queries/{entry.name}: header name {info.name!r} differs from the file name")
        found[info.name] = info
    return found


def list_queries() -> list[QueryInfo]:
    """Every named query, sorted by name."""
    return list(_library().values())


def get_query(name: str) -> QueryInfo:
    """The named query, or ConfigError with the closest names as a hint."""
    library = _library()
    try:
        return library[name]
    except KeyError:
        close = get_close_matches(name, library, n=3)
        hint = f"did you mean {' or '.join(close)}?" if close else f"see {action('list_queries')}"
        raise ConfigError(f"no named query {name!r}", hint=hint) from None


def bind_params(info: QueryInfo, given: Mapping[str, Any]) -> dict[str, Value]:
    """Every parameter of ``info``, typed: the given values (strings or Python values) parsed,
    the rest filled with defaults. Unknown or missing required parameters raise ConfigError."""
    for name in given:
        info.param(name)  # raises for an unknown name
    bound: dict[str, Value] = {}
    for p in info.params:
        if p.name in given:
            bound[p.name] = parse_value(p, given[p.name])
        elif p.required:
            raise ConfigError(
                f"query {info.name!r} needs parameter {p.name!r} ({p.type})",
                hint=f"add {param('params.' + p.name, None)} ({p.description})" if p.description else None,
                param=p.name,
            )
        else:
            bound[p.name] = p.default
    return bound


def parse_assignments(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``["key=value", ...]`` from the command line as a dict (values still strings)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"bad query parameter {item!r}", hint=f"write {param('params.name', 'value')}")
        if key in out:
            raise ConfigError(f"{param('params.' + key)} given twice", param=key)
        out[key] = value
    return out


def json_value(raw: str) -> Any:
    """A free-form --param value for --cypher: JSON when it parses, else the string itself."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw
