"""What every database command shares: open the configured store (starting the local server
when nothing is configured, and saying so) with the schema in place."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from neuromfa.cli.console import err_console
from neuromfa.store.connection import Store, open_store


@contextlib.contextmanager
def cli_store() -> Iterator[Store]:
    """The configured Store, schema applied (idempotent), closed afterwards."""
    with open_store(notify=err_console.print) as store:
        store.apply_schema()
        yield store
