"""The one loader of `.cypher` files: the product's named statements (store/cypher/NAME.cypher),
the statements of a file (schema/*.cypher, test fixtures) and the files of a package folder
(the named query library, queries/*.cypher).

Every statement takes its values as parameters; nothing is spliced into the text.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path


def _code_lines(text: str) -> list[str]:
    """``text``'s lines without its ``//`` comment lines."""
    return [ln for ln in text.splitlines() if not ln.lstrip().startswith("//")]


@cache
def cypher(name: str) -> str:
    """Text of store/cypher/<name>.cypher (leading // comment lines removed)."""
    path = resources.files("neuromfa.store").joinpath("cypher", f"{name}.cypher")
    if not path.is_file():
        raise KeyError(f"no Cypher statement named {name!r} in store/cypher/")
    return "\n".join(_code_lines(path.read_text())).strip()


def split_statements(text: str) -> list[str]:
    """The statements of a .cypher text: `//` comment lines dropped, split at each ';' that ends
    a line (a ';' inside a line, in a string say, stays), the ';' removed."""
    out: list[str] = []
    current: list[str] = []
    for line in _code_lines(text):
        current.append(line)
        if line.rstrip().endswith(";"):
            out.append("\n".join(current).rstrip().removesuffix(";").strip())
            current = []
    out.append("\n".join(current).strip())
    return [s for s in out if s]


def file_statements(file: Traversable | Path) -> list[str]:
    """The statements of one .cypher file (``split_statements``)."""
    return split_statements(file.read_text())


def package_files(package: str) -> list[Traversable]:
    """The .cypher files of a package's folder (``neuromfa.schema``, ``neuromfa.queries``),
    sorted by name."""
    folder = resources.files(package)
    return sorted((e for e in folder.iterdir() if e.name.endswith(".cypher")), key=lambda e: e.name)
