"""Settings from the environment (Neo4j's own variable names, plus NEUROMFA_HOME)."""

from __future__ import annotations

from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_home() -> Path:
    return Path(platformdirs.user_data_dir("neuromfa", appauthor=False))


class DatabaseSettings(BaseSettings):
    """Where the graph database is. With no NEO4J_URI the local embedded server is used."""

    model_config = SettingsConfigDict(env_prefix="NEO4J_", extra="ignore")

    uri: str | None = None
    username: str = "root"
    password: str | None = None
    database: str | None = None


class HomeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEUROMFA_", extra="ignore")

    home: Path = Field(default_factory=default_home)
