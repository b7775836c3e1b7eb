"""The graph database layer: `open_store()` -> `Store`, the local server, named Cypher."""

from neuromfa.store.connection import ConstraintViolation, Store, connect, open_store
from neuromfa.store.server import LocalServer
from neuromfa.store.statements import cypher

__all__ = ["ConstraintViolation", "LocalServer", "Store", "connect", "cypher", "open_store"]
