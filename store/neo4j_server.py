"""The local Neo4j server: Neo4j 5.26 Community embedded (docker/neo4j/), served over Bolt.

The same interface as the local ArcadeDB server (`LocalServer`, which this subclasses), with
everything under ``$NEUROMFA_HOME/neo4j``:

    dbms/         the DBMS home (data/, logs/); its one database is ``neo4j``
    password      generated password of user ``neo4j``
    neo4j.pid     JSON {pid, bolt_port, started} of the running server
    neo4j.log     the JVM's stdout/stderr
    neo4j.lock    serialises concurrent starts

Private like the ArcadeDB home (folders 0700, files 0600, no symbolic link followed). The
password reaches the JVM on its standard input, never the command line. Bolt listens on
127.0.0.1 only; Neo4j's HTTP connector is off.

The launcher is built once with Maven (``mvn -q -B package``; Maven fetches Neo4j into
``~/.m2``) into the user cache, keyed by a hash of its sources, so every home shares it.

Community has one user and no roles: read-only user Cypher runs in READ sessions, which Neo4j
itself refuses to write in (``Neo.ClientError.Statement.AccessMode``), so there is no reader.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import platformdirs

from neuromfa.base.errors import DatabaseError
from neuromfa.base.settings import Engine, HomeSettings
from neuromfa.store.server import (
    LocalServer,
    StartResult,
    home_settings,
    open_private,
    private_dir,
    read_private,
    write_private,
)

NEO4J_USER = "neo4j"
NEO4J_DATABASE = "neo4j"  # Community serves one user database
MAIN_CLASS = "neuromfa.LocalNeo4j"
# Under the machine's load a first start (which also sets the password) takes ~45 s.
NEO4J_START_TIMEOUT_S = 180.0
BUILD_TIMEOUT_S = 900.0  # the first build downloads Neo4j (~120 MB of jars)
_SIZE_RE = re.compile(r"^([0-9]+)([kKmMgG]?)$")
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def launcher_source() -> Path:
    """docker/neo4j of the source tree neuromfa runs from."""
    source = Path(__file__).resolve().parents[1] / "docker" / "neo4j"
    if not (source / "pom.xml").is_file():
        raise DatabaseError(f"the local Neo4j launcher's sources are missing ({source})",
                            hint="install neuromfa from its source tree (pip install -e .), "
                                 "or run Neo4j yourself and set NEO4J_URI")
    return source


def _source_files(source: Path) -> list[Path]:
    return sorted([source / "pom.xml", *(p for p in (source / "src").rglob("*") if p.is_file())])


def source_hash(source: Path) -> str:
    """Hash of the launcher's sources (names and contents): its build's cache key."""
    digest = hashlib.sha256()
    for path in _source_files(source):
        digest.update(str(path.relative_to(source)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _bytes(size: str) -> int:
    match = _SIZE_RE.match(size)
    if match is None:  # the settings' pattern already refuses this
        raise DatabaseError(f"invalid size {size!r}", hint="use e.g. 512m or 1g")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def _require(tool: str, what: str) -> str:
    found = shutil.which(tool)
    if found is None:
        raise DatabaseError(f"the local Neo4j needs {what}, and `{tool}` is not on PATH",
                            hint=f"install {what} (Debian/Ubuntu: apt-get install "
                                 f"{'openjdk-17-jdk-headless' if tool == 'java' else 'maven'})")
    return found


class LocalNeo4j(LocalServer):
    """The local Neo4j server of one NEUROMFA_HOME (port and memory from settings)."""

    engine_name = "Neo4j"
    label = "local Neo4j server"

    def __init__(self, settings: HomeSettings | None = None, *, cache: Path | None = None):
        super().__init__(settings)
        s = settings or home_settings()
        self.bolt_port = s.neo4j_port
        self.memory = s.neo4j_memory
        self.pagecache = s.neo4j_pagecache
        self.database = NEO4J_DATABASE
        self.username = NEO4J_USER
        self.cache = cache or Path(platformdirs.user_cache_dir("neuromfa", appauthor=False))

    @property
    def first_start_note(self) -> str:  # type: ignore[override]
        if self._built() is None:
            return "the first start builds the launcher with Maven: up to a few minutes"
        return "a start takes up to a minute"

    # -- paths -------------------------------------------------------------------------------
    @property
    def base(self) -> Path:
        return self.home / "neo4j"

    @property
    def root(self) -> Path:
        return self.base / "dbms"

    @property
    def password_file(self) -> Path:
        return self.base / "password"

    @property
    def pid_file(self) -> Path:
        return self.base / "neo4j.pid"

    @property
    def log_file(self) -> Path:
        return self.base / "neo4j.log"

    @property
    def _lock_file(self) -> Path:
        return self.base / "neo4j.lock"

    @property
    def http_url(self) -> str:
        return "-"  # Neo4j's HTTP connector stays off

    def _ports(self) -> list[tuple[int, str, str]]:
        return [(self.bolt_port, "Bolt", "NEUROMFA_NEO4J_PORT")]

    def _cmdline_marker(self) -> str:
        return f"-Dneuromfa.neo4j.home={self.root}"

    # -- password, no reader -----------------------------------------------------------------
    def password(self) -> str:
        """The password of user neo4j, generated (0600) on first use."""
        if self.password_file.exists() or self.password_file.is_symlink():
            return read_private(self.password_file).strip()
        if (self.root / "neuromfa-password-set").exists():
            raise DatabaseError(
                f"the local Neo4j's data in {self.root} exists but its password file "
                f"{self.password_file} is missing",
                hint=f"restore the file, or delete {self.root} to start with an empty database")
        private_dir(self.home)
        private_dir(self.base)
        return self._generated(self.password_file)[0]

    def reader_credentials(self) -> tuple[str, str] | None:
        """None: Neo4j Community has no read-only user; READ sessions enforce reading."""
        return None

    def ensure_reader(self) -> None:
        """Nothing to do: there is no reader on Neo4j Community."""

    def upgrade_running(self) -> None:
        """Nothing to upgrade yet: this is the first version of the local Neo4j."""

    def admin(self) -> None:  # type: ignore[override]
        raise DatabaseError("the local Neo4j has no HTTP admin API",
                            hint="use Cypher over Bolt (SHOW DATABASES, SHOW USERS)")

    # -- the launcher ------------------------------------------------------------------------
    @contextlib.contextmanager
    def _build_lock(self, folder: Path) -> Iterator[None]:
        private_dir(folder)
        with os.fdopen(open_private(folder / "build.lock", os.O_RDWR | os.O_CREAT), "r+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _built(self) -> Path | None:
        """The built launcher's folder when it is built for the current sources."""
        target = self.cache / "neo4j-launcher" / source_hash(launcher_source()) / "target"
        return target if (target / "neuromfa-neo4j.jar").is_file() else None

    def launcher(self) -> Path:
        """The built launcher's folder (``neuromfa-neo4j.jar`` and ``lib/``): built with Maven
        on first use, then reused while its sources are unchanged."""
        built = self._built()
        if built is not None:
            return built
        source = launcher_source()
        folder = self.cache / "neo4j-launcher"
        build = folder / source_hash(source)
        done = build / "target" / "neuromfa-neo4j.jar"
        _require("java", "a Java 17+ JDK")
        mvn = _require("mvn", "Apache Maven 3.8+")
        with self._build_lock(folder):
            if done.is_file():  # built by another process meanwhile
                return build / "target"
            shutil.rmtree(build, ignore_errors=True)
            for path in _source_files(source):
                target = build / path.relative_to(source)
                target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                shutil.copyfile(path, target)
            log = folder / "build.log"
            with os.fdopen(open_private(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), "wb") as fh:
                try:
                    proc = subprocess.run([mvn, "-q", "-B", "package"], cwd=build, stdout=fh,
                                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          timeout=BUILD_TIMEOUT_S, check=False)
                except subprocess.TimeoutExpired:
                    raise DatabaseError(f"building the local Neo4j launcher took over "
                                        f"{BUILD_TIMEOUT_S:.0f} s", hint=f"see {log}") from None
            if proc.returncode != 0 or not done.is_file():
                tail = [ln.strip() for ln in log.read_text(errors="replace").splitlines()
                        if "ERROR" in ln][:2]
                raise DatabaseError(
                    f"building the local Neo4j launcher failed (mvn exit {proc.returncode})"
                    + (f": {' | '.join(tail)}" if tail else ""),
                    hint=f"see {log}; Maven needs to reach Maven Central once")
        return build / "target"

    def _prepare(self) -> None:
        private_dir(self.base)
        self.launcher()

    def _command(self, args_file: Path) -> list[str]:
        target = self.launcher()
        return [
            _require("java", "a Java 17+ JDK"), f"-Xmx{self.memory}",
            self._cmdline_marker(),
            "-cp", f"{target / 'neuromfa-neo4j.jar'}:{target / 'lib' / '*'}",
            MAIN_CLASS, str(self.root), str(self.bolt_port), str(_bytes(self.pagecache)),
        ]

    def _launch(self, password: str) -> subprocess.Popen[bytes]:
        """Start the JVM (umask 077), hand it the password on stdin, record its pid."""
        log_fd = open_private(self.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        with os.fdopen(log_fd, "ab") as log:
            log.write(f"--- neuromfa: starting Neo4j {time.ctime()} ---\n".encode())
            log.flush()
            proc = subprocess.Popen(
                self._command(self._args_file), cwd=self.root,
                stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, umask=0o077,
            )
        assert proc.stdin is not None
        proc.stdin.write(password.encode() + b"\n")
        proc.stdin.close()
        write_private(self.pid_file, json.dumps({
            "pid": proc.pid, "bolt_port": self.bolt_port, "started": time.time()}))
        return proc

    def start(self, timeout: float = NEO4J_START_TIMEOUT_S) -> StartResult:
        return super().start(timeout)


def local_server(settings: HomeSettings | None = None) -> LocalServer:
    """The local server NEUROMFA_ENGINE names (ArcadeDB by default)."""
    s = settings or home_settings()
    return LocalNeo4j(s) if s.engine is Engine.NEO4J else LocalServer(s)
