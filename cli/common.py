"""What every database command shares: open the configured store (starting the local server
when nothing is configured, and saying so) with the schema in place."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rich.console import Console

from neuromfa.store.connection import Store, open_store

err_console = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)


@contextlib.contextmanager
def cli_store() -> Iterator[Store]:
    """The configured Store, schema applied (idempotent), closed afterwards."""
    with open_store(notify=err_console.print) as store:
        store.apply_schema()
        yield store
