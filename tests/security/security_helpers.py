"""A database fingerprint for the adversarial tests, and the canary graph they attack."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import query_graph as qg

from neuromfa.cli.main import main
from neuromfa.store.connection import Store

CANARY = "CREATE (:Canary {v: 1, name: 'a'}), (:Canary {v: 2, name: 'b'})-[:PECKS {w: 0.5}]->(:Canary {v: 3})"

# Variables a CLI run reads; cleared first so only the given environment counts.
ENV_KEYS = ("NEO4J_URI", "NEO4J_USERNAME", "NEO4J_PASSWORD", "NEO4J_DATABASE",
            "NEO4J_READ_USERNAME", "NEO4J_READ_PASSWORD", "NEUROMFA_HOME",
            "NEUROMFA_BOLT_PORT", "NEUROMFA_HTTP_PORT")


def load_canary_graph(store: Store) -> None:
    """The named-query fixture graph plus a few Canary nodes with known values."""
    qg.load(store)
    store.write(CANARY)


def _digest(rows: list[Any]) -> str:
    return hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class Fingerprint:
    nodes: int
    relationships: int
    labels: tuple[str, ...]
    relationship_types: tuple[str, ...]
    types: tuple[tuple[str, str], ...]  # ArcadeDB's own types (made for every new label)
    indexes: tuple[str, ...]
    constraints: tuple[str, ...]
    properties: str  # checksum of every node's labels + properties and every relationship's
    files: tuple[str, ...]  # the database's files on disk (local server only)


# Neo4j's SHOW INDEXES counts reads: a read changes these, a write need not.
READ_STATS = ("lastRead", "readCount")


def fingerprint(store: Store, graph_server: Any) -> Fingerprint:
    """Everything a write could change, read as root."""
    nodes = store.read("MATCH (n) RETURN labels(n) AS l, properties(n) AS p")
    rels = store.read("MATCH (a)-[r]->(b) RETURN type(r) AS t, properties(r) AS p, "
                      "properties(a) AS a, properties(b) AS b")
    node_rows = sorted(json.dumps([sorted(r["l"]), r["p"]], sort_keys=True, default=str)
                       for r in nodes)
    rel_rows = sorted(json.dumps([r["t"], r["p"], r["a"], r["b"]], sort_keys=True, default=str)
                      for r in rels)
    labels = store.read("CALL db.labels() YIELD label RETURN label")
    rtypes = store.read("CALL db.relationshipTypes() YIELD relationshipType RETURN relationshipType AS t")
    schema = store.schema()
    types: tuple[tuple[str, str], ...] = ()
    files: tuple[str, ...] = ()
    if graph_server.admin is not None and store.database:
        types = tuple((t["name"], t["type"]) for t in graph_server.admin.types(store.database))
    folder = graph_server.data_folder(store.database) if store.database else None
    if folder is not None:
        files = tuple(sorted(p.name for p in folder.iterdir()
                             if not p.name.endswith(".wal")))  # WAL files come and go
    return Fingerprint(
        nodes=len(nodes), relationships=len(rels),
        labels=tuple(sorted(r["label"] for r in labels)),
        relationship_types=tuple(sorted(r["t"] for r in rtypes)),
        types=types,
        indexes=tuple(sorted(json.dumps({k: v for k, v in i.items() if k not in READ_STATS},
                                        sort_keys=True, default=str)
                             for i in schema["indexes"])),
        constraints=tuple(sorted(json.dumps(c, sort_keys=True, default=str)
                                 for c in schema["constraints"])),
        properties=_digest([node_rows, rel_rows]),
        files=files,
    )


def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
            env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of `neuromfa *args` in this process under ``env``."""
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
        if key in env:
            monkeypatch.setenv(key, env[key])
    monkeypatch.setattr(sys, "argv", ["neuromfa", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    out, err = capsys.readouterr()
    return exited.value.code or 0, out, err


def local_env(db_env: dict[str, str]) -> dict[str, str]:
    """The default path: no NEO4J_URI, the local server of NEUROMFA_HOME, the test database."""
    env = {k: v for k, v in db_env.items() if not k.startswith("NEO4J_")}
    if "NEO4J_DATABASE" in db_env:
        env["NEO4J_DATABASE"] = db_env["NEO4J_DATABASE"]
    return env


def write_csv(folder: Path) -> Path:
    path = folder / "secret.csv"
    path.write_text("name,value\nsecret,42\n")
    os.chmod(path, 0o600)
    return path
