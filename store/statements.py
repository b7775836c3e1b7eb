"""Named Cypher statements: one file per statement under store/cypher/ (NAME.cypher).

Every statement takes its values as parameters; nothing is spliced into the text.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=None)
def cypher(name: str) -> str:
    """Text of store/cypher/<name>.cypher (leading // comment lines removed)."""
    path = resources.files("neuromfa.store").joinpath("cypher", f"{name}.cypher")
    if not path.is_file():
        raise KeyError(f"no Cypher statement named {name!r} in store/cypher/")
    lines = [ln for ln in path.read_text().splitlines() if not ln.lstrip().startswith("//")]
    return "\n".join(lines).strip()
