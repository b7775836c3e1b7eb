"""The schema statements shipped in schema/constraints.cypher and schema/indexes.cypher."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

SCHEMA_FILES = ("constraints.cypher", "indexes.cypher")


def split_statements(text: str) -> list[str]:
    """Statements of a .cypher file: `//` comment lines dropped, split on ';'."""
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("//")]
    return [" ".join(part.split()) for part in "\n".join(lines).split(";") if part.strip()]


@lru_cache(maxsize=None)
def _load() -> tuple[str, ...]:
    pkg = resources.files("neuromfa.schema")
    out: list[str] = []
    for name in SCHEMA_FILES:
        out.extend(split_statements(pkg.joinpath(name).read_text()))
    return tuple(out)


def schema_statements() -> list[str]:
    """Constraints first (they create the indexes of their keys), then the other indexes."""
    return list(_load())
