"""The schema statements shipped in schema/constraints.cypher and schema/indexes.cypher."""

from __future__ import annotations

from functools import cache
from importlib import resources

from neuromfa.store.statements import file_statements

SCHEMA_FILES = ("constraints.cypher", "indexes.cypher")


@cache
def _load() -> tuple[str, ...]:
    pkg = resources.files("neuromfa.schema")
    return tuple(s for name in SCHEMA_FILES for s in file_statements(pkg.joinpath(name)))


def schema_statements() -> list[str]:
    """Constraints first (they create the indexes of their keys), then the other indexes."""
    return list(_load())
