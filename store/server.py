"""The local graph server: ArcadeDB from the `arcadedb_embedded` package, with its Bolt plugin.

Everything lives under ``$NEUROMFA_HOME``:

    arcadedb/         server root (databases/, config/, log/)
    root-password     generated root password (ArcadeDB needs >= 8 characters)
    reader-password   generated password of the read-only user `neuromfa_reader`
    arcadedb.pid      JSON {pid, bolt_port, http_port, started} of the running server
    arcadedb.log      the JVM's stdout/stderr
    arcadedb.lock     serialises concurrent starts

The home is private: folders 0700, files 0600 (the JVM runs with umask 077, and a start
tightens what an older version left wider). Files are never opened through a symbolic link.
The server listens on 127.0.0.1 only (Bolt and HTTP). The root password reaches the JVM
through a 0600 argument file, never the command line, so `ps` does not show it.

Read-only user Cypher runs as `neuromfa_reader`, a server user whose group may only read
records on every database: the server itself refuses its writes, schema changes, new types,
LOAD CSV and procedures that write (``Neo.ClientError.Security.Forbidden``). Every start
makes sure the user and its group exist, so a home from an older version gets them too.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import fcntl
import json
import os
import secrets
import signal
import socket
import stat
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from importlib import util as importlib_util
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil

from neuromfa.base.errors import DatabaseError, action
from neuromfa.base.settings import HomeSettings
from neuromfa.base.validation import validate
from neuromfa.store.statements import cypher

DEFAULT_DATABASE = "neurons"
ROOT_USER = "root"
READER_USER = "neuromfa_reader"
READER_GROUP = "neuromfa_reader"
# The group as the server stores it (normalized): read records of every type, nothing else.
READER_GROUP_DEFINITION: dict[str, Any] = {
    "resultSetLimit": -1, "readTimeout": -1, "access": [],
    "types": {"*": {"access": ["readRecord"]}},
}
READER_DATABASES = {"*": [READER_GROUP]}
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
HOST = "127.0.0.1"
START_TIMEOUT_S = 60.0
# The server is local or named explicitly: never send its password through an HTTP proxy.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
STOP_TIMEOUT_S = 30.0


def home_settings() -> HomeSettings:
    """NEUROMFA_* settings; a malformed value becomes a one-line ConfigError."""
    return validate(HomeSettings, "setting")


def _not_private(path: Path, what: str) -> DatabaseError:
    return DatabaseError(f"refusing to use {path}: it is {what}",
                         hint="remove it; neuromfa creates its own files under $NEUROMFA_HOME")


def open_private(path: Path, flags: int) -> int:
    """os.open of a file under the home: never through a symbolic link, created 0600 and
    tightened to 0600 when it exists wider. Raises DatabaseError for a link or non-file."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, PRIVATE_FILE)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _not_private(path, "a symbolic link") from None
        raise
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise _not_private(path, "not a regular file")
    if stat.S_IMODE(info.st_mode) != PRIVATE_FILE:
        os.fchmod(fd, PRIVATE_FILE)
    return fd


def write_private(path: Path, text: str, *, exclusive: bool = False) -> None:
    """Write ``text`` to a 0600 file (replacing it, or only creating it when ``exclusive``)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    with os.fdopen(open_private(path, flags), "w") as fh:
        fh.write(text)


def read_private(path: Path) -> str:
    with os.fdopen(open_private(path, os.O_RDONLY), "r") as fh:
        return fh.read()


def private_dir(path: Path) -> None:
    """Create ``path`` (0700) or tighten it to 0700; refuse a symbolic link."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        raise _not_private(path, "a symbolic link")
    if not stat.S_ISDIR(info.st_mode):
        raise _not_private(path, "not a folder")
    if stat.S_IMODE(info.st_mode) != PRIVATE_DIR:
        os.chmod(path, PRIVATE_DIR)


def privatize_tree(root: Path) -> None:
    """Folders 0700 and files 0600 below ``root`` (what an older version created wider);
    symbolic links are neither followed nor changed."""
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            want = PRIVATE_DIR if stat.S_ISDIR(info.st_mode) else PRIVATE_FILE
            if not stat.S_ISLNK(info.st_mode) and stat.S_IMODE(info.st_mode) & ~want:
                os.chmod(path, want)


class State(str, Enum):
    RUNNING = "running"
    STOPPED = "stopped"
    STALE = "stale pid file"


@dataclass(frozen=True)
class ServerStatus:
    state: State
    pid: int | None
    uri: str
    http_url: str
    database: str
    data_dir: Path
    reachable: bool


@dataclass(frozen=True)
class StartResult:
    pid: int
    seconds: float
    already_running: bool


def _package_dir() -> Path:
    spec = importlib_util.find_spec("arcadedb_embedded")
    if spec is None or not spec.origin:
        raise DatabaseError("the arcadedb-embedded package is not installed",
                            hint='install neuromfa with its dependencies: pip install -e "."')
    return Path(spec.origin).parent


def _port_open(port: int, host: str = HOST, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        return sock.connect_ex((host, port)) == 0


def _port_owner(port: int) -> str | None:
    """'name (pid N)' of the process listening on the port, when the OS lets us see it."""
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
                if conn.pid is None:
                    return None
                try:
                    return f"{psutil.Process(conn.pid).name()} (pid {conn.pid})"
                except psutil.Error:
                    return f"pid {conn.pid}"
    except (psutil.Error, OSError):
        return None
    return None


class LocalServer:
    """The local ArcadeDB server of one NEUROMFA_HOME (ports and memory from settings)."""

    engine_name = "ArcadeDB"
    label = "local graph server"  # how messages name it
    first_start_note = "first start takes a few seconds"

    def __init__(self, settings: HomeSettings | None = None):
        s = settings or home_settings()
        self.home = Path(s.home).expanduser().resolve()
        self.bolt_port = s.bolt_port
        self.http_port = s.http_port
        self.memory = s.db_memory
        self.database = DEFAULT_DATABASE
        self.username = ROOT_USER

    # -- paths -------------------------------------------------------------------------------
    @property
    def root(self) -> Path:
        return self.home / "arcadedb"

    @property
    def password_file(self) -> Path:
        return self.home / "root-password"

    @property
    def reader_password_file(self) -> Path:
        return self.home / "reader-password"

    @property
    def pid_file(self) -> Path:
        return self.home / "arcadedb.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "arcadedb.log"

    @property
    def _lock_file(self) -> Path:
        return self.home / "arcadedb.lock"

    @property
    def _args_file(self) -> Path:
        return self.home / "arcadedb.args"

    @property
    def uri(self) -> str:
        return f"bolt://{HOST}:{self.bolt_port}"

    @property
    def http_url(self) -> str:
        return f"http://{HOST}:{self.http_port}"

    # -- passwords ---------------------------------------------------------------------------
    def password(self) -> str:
        """The root password, generated (0600) on first use."""
        if self.password_file.exists() or self.password_file.is_symlink():
            return read_private(self.password_file).strip()
        if (self.root / "config" / "server-users.jsonl").exists():
            raise DatabaseError(
                f"the local server's data in {self.root} exists but its password file "
                f"{self.password_file} is missing",
                hint=f"restore the file, or delete {self.root} to start with an empty database")
        return self._generated(self.password_file)[0]

    def reader_password(self) -> str:
        """The read-only user's password, generated (0600) on first use."""
        return self._generated(self.reader_password_file)[0]

    def reader_credentials(self) -> tuple[str, str] | None:
        return READER_USER, self.reader_password()

    def _generated(self, path: Path) -> tuple[str, bool]:
        """(secret stored in ``path``, whether it was generated just now)."""
        if path.exists() or path.is_symlink():
            return read_private(path).strip(), False
        private_dir(self.home)
        secret = secrets.token_urlsafe(24)
        try:
            write_private(path, secret + "\n", exclusive=True)
        except FileExistsError:  # another process generated it just now
            return read_private(path).strip(), False
        return secret, True

    def ensure_reader(self) -> None:
        """Make sure the read-only group and user exist as neuromfa defines them (over the
        HTTP API, so a running server of an older version gets them without a restart)."""
        admin = self.admin()
        if admin.groups().get(READER_GROUP) != READER_GROUP_DEFINITION:
            admin.save_group(READER_GROUP, READER_GROUP_DEFINITION)
        password, fresh = self._generated(self.reader_password_file)
        users = {u.get("name"): u for u in admin.users()}
        if READER_USER not in users:
            admin.create_user(READER_USER, password, READER_DATABASES)
        elif fresh or users[READER_USER].get("databases") != READER_DATABASES:
            admin.update_user(READER_USER, password, READER_DATABASES)

    # -- process -----------------------------------------------------------------------------
    def _pid_info(self) -> dict[str, Any]:
        try:
            info = json.loads(read_private(self.pid_file))
        except (OSError, ValueError, DatabaseError):
            return {}
        return info if isinstance(info, dict) else {}

    def _read_pid(self) -> int | None:
        try:
            return int(self._pid_info()["pid"])
        except (ValueError, KeyError, TypeError):
            return None

    def _is_our_process(self, pid: int) -> bool:
        """The pid is alive and is a JVM serving this server root (guards against pid reuse)."""
        try:
            proc = psutil.Process(pid)
            if proc.status() == psutil.STATUS_ZOMBIE:
                return False
            return self._cmdline_marker() in proc.cmdline()
        except psutil.Error:
            return False

    def _cmdline_marker(self) -> str:
        """An argument only the JVM of this server root has."""
        return f"-Darcadedb.server.rootPath={self.root}"

    def pid(self) -> int | None:
        """Pid of the running server, or None. A running server keeps the ports it was
        started with (recorded in the pid file), whatever the settings say now."""
        pid = self._read_pid()
        if pid is None or not self._is_our_process(pid):
            return None
        info = self._pid_info()
        try:
            self.bolt_port = int(info.get("bolt_port", self.bolt_port))
            self.http_port = int(info.get("http_port", self.http_port))
        except (ValueError, TypeError):
            pass
        return pid

    def is_running(self) -> bool:
        return self.pid() is not None

    def status(self, check_bolt: bool = True) -> ServerStatus:
        pid = self._read_pid()
        if pid is not None and self.pid() == pid:
            state = State.RUNNING
        elif self.pid_file.exists() or self.pid_file.is_symlink():
            state, pid = State.STALE, pid
        else:
            state, pid = State.STOPPED, None
        reachable = state is State.RUNNING and check_bolt and self._bolt_ready()
        return ServerStatus(state, pid, self.uri, self.http_url, self.database, self.root,
                            reachable)

    def _command(self, args_file: Path) -> list[str]:
        pkg = _package_dir()
        java = pkg / "jre" / "bin" / "java"
        if not java.is_file():
            raise DatabaseError(f"the Java runtime bundled with arcadedb-embedded is missing "
                                f"({java})", hint="reinstall arcadedb-embedded")
        return [
            str(java), f"-Xmx{self.memory}", f"@{args_file}",
            f"-Darcadedb.server.rootPath={self.root}",
            f"-Darcadedb.server.httpIncomingHost={HOST}",
            f"-Darcadedb.server.httpIncomingPort={self.http_port}",
            "-Darcadedb.server.plugins=Bolt:com.arcadedb.bolt.BoltProtocolPlugin",
            # Its default listens on every interface; keep the server private to this machine.
            f"-Darcadedb.bolt.host={HOST}",
            f"-Darcadedb.bolt.port={self.bolt_port}",
            f"-Darcadedb.server.defaultDatabases={self.database}[{ROOT_USER}]",
            f"-Darcadedb.bolt.defaultDatabase={self.database}",
            "-cp", str(pkg / "jars" / "*"),
            "com.arcadedb.server.ArcadeDBServer",
        ]

    @contextlib.contextmanager
    def _start_lock(self) -> Iterator[None]:
        private_dir(self.home)
        private_dir(self._lock_file.parent)
        with os.fdopen(open_private(self._lock_file, os.O_RDWR | os.O_CREAT), "r+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _ports(self) -> list[tuple[int, str, str]]:
        """(port, protocol, setting) of every port the server listens on."""
        return [(self.bolt_port, "Bolt", "NEUROMFA_BOLT_PORT"),
                (self.http_port, "HTTP", "NEUROMFA_HTTP_PORT")]

    def _check_ports_free(self) -> None:
        for port, what, var in self._ports():
            if _port_open(port):
                owner = _port_owner(port)
                by = f" by {owner}" if owner else " by another program"
                raise DatabaseError(
                    f"cannot start the local graph server: {what} port {port} on {HOST} is "
                    f"already in use{by}",
                    hint=f"stop that program, or choose another port with {var}")

    def _log_tail(self, lines: int = 5) -> str:
        try:
            text = read_private(self.log_file).splitlines()
        except (OSError, ValueError, DatabaseError):
            return ""
        keep = [ln.strip() for ln in text if ln.strip()][-lines:]
        return " | ".join(keep)

    def start(self, timeout: float = START_TIMEOUT_S) -> StartResult:
        """Start the server (no-op when it already runs) and wait until Bolt answers."""
        t0 = time.monotonic()
        with self._start_lock():
            pid = self.pid()
            if pid is not None:
                self.wait_ready(timeout, pid=pid)
                self.upgrade_running()
                return StartResult(pid, time.monotonic() - t0, already_running=True)
            self.pid_file.unlink(missing_ok=True)  # stale
            self._check_ports_free()
            password = self.password()
            self._prepare()
            private_dir(self.root)
            privatize_tree(self.home)
            proc = self._launch(password)
            try:
                self.wait_ready(timeout - (time.monotonic() - t0), pid=proc.pid, proc=proc)
                self.ensure_reader()
            except BaseException:
                self._terminate(proc.pid, STOP_TIMEOUT_S)
                self.pid_file.unlink(missing_ok=True)
                raise
            finally:
                self._args_file.unlink(missing_ok=True)
            return StartResult(proc.pid, time.monotonic() - t0, already_running=False)

    def upgrade_running(self) -> None:
        """Give a server started by an older version what this one adds (its reader)."""
        if not self.reader_password_file.exists():
            self.ensure_reader()
            privatize_tree(self.home)

    def _prepare(self) -> None:
        """What a start needs before the JVM runs (nothing for ArcadeDB: it ships its jars)."""

    def _launch(self, password: str) -> subprocess.Popen[bytes]:
        """Start the JVM (umask 077: its data files are private) and record its pid."""
        write_private(self._args_file, f'"-Darcadedb.server.rootPassword={password}"\n')
        log_fd = open_private(self.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        with os.fdopen(log_fd, "ab") as log:
            log.write(f"--- neuromfa: starting server {time.ctime()} ---\n".encode())
            log.flush()
            proc = subprocess.Popen(
                self._command(self._args_file), cwd=self.root,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in the CLI must not kill the server
                umask=0o077,
            )
        write_private(self.pid_file, json.dumps({
            "pid": proc.pid, "bolt_port": self.bolt_port, "http_port": self.http_port,
            "started": time.time()}))
        return proc

    def _bolt_ready(self) -> bool:
        """Bolt accepts our credentials and answers a trivial query."""
        from neo4j import GraphDatabase
        from neo4j.exceptions import DriverError, Neo4jError

        if not _port_open(self.bolt_port):
            return False
        try:
            with GraphDatabase.driver(self.uri, auth=(self.username, self.password()),
                                      connection_timeout=2.0) as driver, driver.session(database=self.database) as session:
                row = session.run(cypher("ping")).single()
                return row is not None and row["ok"] == 1
        except (DriverError, Neo4jError, OSError):
            return False

    def wait_ready(self, timeout: float = START_TIMEOUT_S, *, pid: int | None = None,
                   proc: subprocess.Popen[bytes] | None = None) -> None:
        """Poll until Bolt answers; fail early when the process dies."""
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            if proc is not None and proc.poll() is not None:
                raise DatabaseError(
                    f"the local graph server exited during start (status {proc.returncode}): "
                    f"{self._log_tail()}", hint=f"see {self.log_file}")
            if proc is None and pid is not None and not self._is_our_process(pid):
                raise DatabaseError("the local graph server stopped while starting",
                                    hint=f"see {self.log_file}")
            if self._bolt_ready():
                return
            if time.monotonic() >= deadline:
                raise DatabaseError(
                    f"the local graph server did not answer on {self.uri} within "
                    f"{timeout:.0f} s", hint=f"see {self.log_file}")
            time.sleep(0.2)

    def _terminate(self, pid: int, timeout: float) -> None:
        """SIGTERM, wait up to timeout, then SIGKILL."""
        try:
            proc = psutil.Process(pid)
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except psutil.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        except psutil.NoSuchProcess:
            pass

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> bool:
        """Stop the server; True when one was running. Clears a stale pid file."""
        with self._start_lock():
            pid = self.pid()
            if pid is not None:
                self._terminate(pid, timeout)
            self.pid_file.unlink(missing_ok=True)
            return pid is not None

    # -- the HTTP API as root -----------------------------------------------------------------
    def admin(self) -> ArcadeAdmin:
        return ArcadeAdmin(self.http_url, ROOT_USER, self.password())


class ArcadeAdmin:
    """The users and groups of an ArcadeDB server over its HTTP API: what the read-only user
    needs (the tests' database admin, tests/arcade_admin.py, builds on it)."""

    def __init__(self, http_url: str, username: str, password: str):
        self.http_url = http_url.rstrip("/")
        self._auth = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()

    def _call(self, path: str, body: dict[str, Any] | None, what: str, method: str | None = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": self._auth}
        if data is not None:
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(f"{self.http_url}{path}", data=data, headers=headers,
                                     method=method or ("POST" if data is not None else "GET"))
        try:
            with _NO_PROXY.open(req, timeout=30) as resp:
                answer: dict[str, Any] = json.loads(resp.read() or b"{}")
                return answer
        except urllib.error.HTTPError as exc:
            try:
                payload = json.loads(exc.read() or b"{}")
                detail = payload.get("detail") or payload.get("error") or str(exc)
            except ValueError:
                detail = str(exc)
            hint = ("check the root password" if exc.code in (401, 403)
                    else "check the database name")
            raise DatabaseError(f"the graph server at {self.http_url} refused to {what}: "
                                f"{detail}", hint=hint) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise DatabaseError(f"cannot reach the graph server's HTTP API at {self.http_url} "
                                f"({exc})", hint=f"start it with {action('db_start')}") from None

    # -- server users and groups (root only) ------------------------------------------------
    def users(self) -> list[dict[str, Any]]:
        """Server users with their database -> groups assignments (no password hashes)."""
        return list(self._call("/api/v1/server/users", None, "list users")["result"])

    def groups(self, database: str = "*") -> dict[str, Any]:
        """The security groups defined for ``database`` ('*': every database), by name."""
        doc = self._call("/api/v1/server/groups", None, "list groups")["result"]
        return dict(doc.get("databases", {}).get(database, {}).get("groups", {}))

    def save_group(self, name: str, definition: dict[str, Any], database: str = "*") -> None:
        self._call("/api/v1/server/groups", {"database": database, "name": name, **definition},
                   f"save group {name!r}")

    def create_user(self, name: str, password: str, databases: dict[str, list[str]]) -> None:
        self._call("/api/v1/server/users",
                   {"name": name, "password": password, "databases": databases},
                   f"create user {name!r}")

    def update_user(self, name: str, password: str, databases: dict[str, list[str]]) -> None:
        self._call(f"/api/v1/server/users?name={quote(name)}",
                   {"password": password, "databases": databases}, f"update user {name!r}",
                   method="PUT")

