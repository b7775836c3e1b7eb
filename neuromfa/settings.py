"""Settings from the environment (Neo4j's own variable names, plus NEUROMFA_*)."""

from __future__ import annotations

from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_home() -> Path:
    return Path(platformdirs.user_data_dir("neuromfa", appauthor=False))


class DatabaseSettings(BaseSettings):
    """Where the graph database is. With no NEO4J_URI the local embedded server is used.

    ``username`` unset means the server's usual administrator: ``root`` on the local
    ArcadeDB server, ``neo4j`` on a server named by NEO4J_URI.
    """

    model_config = SettingsConfigDict(env_prefix="NEO4J_", extra="ignore")

    uri: str | None = None
    username: str | None = None
    password: str | None = None
    database: str | None = None


class HomeSettings(BaseSettings):
    """Local data and the local graph server (used when NEO4J_URI is not set)."""

    model_config = SettingsConfigDict(env_prefix="NEUROMFA_", extra="ignore")

    home: Path = Field(default_factory=default_home)
    bolt_port: int = Field(default=7687, ge=1, le=65535)
    http_port: int = Field(default=2480, ge=1, le=65535)
    db_memory: str = Field(default="2g", pattern=r"^[0-9]+[kKmMgG]?$")
