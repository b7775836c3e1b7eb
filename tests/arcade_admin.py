"""Test support: create / drop / list the databases of an ArcadeDB server over its HTTP API
(each call well under 0.1 s, which makes a fresh database per test cheap). Not shipped: the
product only manages the server's users and groups (neuromfa.store.server.ArcadeAdmin)."""

from __future__ import annotations

from typing import Any

from neuromfa.base.errors import ConfigError, DatabaseError
from neuromfa.store.server import ROOT_USER, ArcadeAdmin, LocalServer


def check_db_name(name: str) -> None:
    # The name is part of a server command, so allow only a plain identifier.
    if not name or not (name[0].isalpha() and all(c.isalnum() or c == "_" for c in name)):
        raise ConfigError(f"invalid database name {name!r}",
                          hint="use letters, digits and underscores, starting with a letter")


class DatabaseAdmin(ArcadeAdmin):
    """ArcadeAdmin plus databases; ``protect`` (the server's main database) is never dropped."""

    def __init__(self, http_url: str, username: str, password: str, protect: str | None = None):
        super().__init__(http_url, username, password)
        self.protect = protect

    @classmethod
    def of(cls, server: LocalServer) -> DatabaseAdmin:
        """Root's admin of the local server, its main database protected."""
        return cls(server.http_url, ROOT_USER, server.password(), protect=server.database)

    def ping(self) -> bool:
        """True when the HTTP API answers and accepts the credentials."""
        try:
            self.list_databases()
            return True
        except DatabaseError:
            return False

    def create_database(self, name: str) -> None:
        check_db_name(name)
        self._call("/api/v1/server", {"command": f"create database {name}"}, f"create database {name!r}")

    def drop_database(self, name: str) -> None:
        check_db_name(name)
        if name == self.protect:
            raise DatabaseError(f"refusing to drop the main database {name!r}")
        self._call("/api/v1/server", {"command": f"drop database {name}"}, f"drop database {name!r}")

    def list_databases(self) -> list[str]:
        return list(self._call("/api/v1/databases", None, "list databases")["result"])

    def types(self, database: str) -> list[dict[str, Any]]:
        """The database's types (ArcadeDB makes one per label and relationship type)."""
        check_db_name(database)
        rows = self._call(f"/api/v1/query/{database}",
                          {"language": "sql", "command": "select name, type from schema:types"},
                          f"list the types of {database!r}")["result"]
        return sorted(({"name": r.get("name"), "type": r.get("type")} for r in rows),
                      key=lambda r: str(r["name"]))
