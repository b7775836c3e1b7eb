"""Settings from the environment (Neo4j's own variable names, plus NEUROMFA_*)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_home() -> Path:
    return Path(platformdirs.user_data_dir("neuromfa", appauthor=False))


def redact_uri(uri: str) -> str:
    """``uri`` with any ``user:password@`` replaced by ``***@``, for messages and output."""
    try:
        netloc = urlsplit(uri).netloc
    except ValueError:
        netloc = ""
    if "@" in netloc:
        return uri.replace(netloc, "***@" + netloc.rsplit("@", 1)[1], 1)
    if "@" in uri:  # unparsable: drop everything up to the last '@'
        scheme, sep, _ = uri.partition("://")
        prefix = scheme + sep if sep else ""
        return f"{prefix}***@{uri.rsplit('@', 1)[1]}"
    return uri


class DatabaseSettings(BaseSettings):
    """Where the graph database is. With no NEO4J_URI the local embedded server is used.

    ``username`` unset means the server's usual administrator: ``root`` on the local
    ArcadeDB server, ``neo4j`` on a server named by NEO4J_URI. ``read_username`` /
    ``read_password`` (NEO4J_READ_*) name a user the NEO4J_URI server restricts to reading,
    used for named queries and user Cypher without --write (the local server has its own).
    """

    model_config = SettingsConfigDict(env_prefix="NEO4J_", extra="ignore")

    uri: str | None = None
    username: str | None = None
    password: str | None = None
    database: str | None = None
    read_username: str | None = None
    read_password: str | None = None

    def reader(self) -> tuple[str, str] | None:
        """(user, password) of the read-only user, when one is configured."""
        return (self.read_username, self.read_password or "") if self.read_username else None


class Engine(str, Enum):
    """Which local graph server neuromfa runs when NEO4J_URI is not set."""

    ARCADEDB = "arcadedb"
    NEO4J = "neo4j"


class HomeSettings(BaseSettings):
    """Local data and the local graph server (used when NEO4J_URI is not set).

    ``engine`` (NEUROMFA_ENGINE) picks the local server: ArcadeDB (``bolt_port``,
    ``http_port``, ``db_memory``) or Neo4j Community (``neo4j_port``, ``neo4j_memory`` heap,
    ``neo4j_pagecache``); both may run at once on their own ports.
    """

    model_config = SettingsConfigDict(env_prefix="NEUROMFA_", extra="ignore")

    home: Path = Field(default_factory=default_home)
    bolt_port: int = Field(default=7687, ge=1, le=65535)
    http_port: int = Field(default=2480, ge=1, le=65535)
    db_memory: str = Field(default="2g", pattern=r"^[0-9]+[kKmMgG]?$")
    engine: Engine = Engine.ARCADEDB
    neo4j_port: int = Field(default=7688, ge=1, le=65535)
    neo4j_memory: str = Field(default="2g", pattern=r"^[0-9]+[kKmMgG]?$")
    neo4j_pagecache: str = Field(default="512m", pattern=r"^[0-9]+[kKmMgG]?$")
