"""A private PostgreSQL server inside `DOMOTIC_HOME`, for when no `DOMOTIC_PG_DSN` is given.

It uses the machine's PostgreSQL binaries (installing Debian's `postgresql` package when they
are missing and we are root), runs on 127.0.0.1 on a free port it chose itself (never the
system cluster's port, no Unix socket), with a generated password kept in the state folder, in a
libpq password file the DSN names (`passfile=`): the DSN can be shown, the password is not in it.
As root it runs the server as the `postgres` system user, since PostgreSQL refuses root.
"""

from __future__ import annotations

import fcntl
import glob
import os
import pwd
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from domotic_assets.local_ports import free_port, port_free
from domotic_assets.system_packages import apt_install

DATABASE = "domotic"
ROLE = "domotic"
SERVER_SETTINGS = """
# domotic: a private, single-user warehouse tuned for bulk loads on a small machine
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 60
shared_buffers = 256MB
work_mem = 32MB
maintenance_work_mem = 256MB
wal_level = minimal
max_wal_senders = 0
max_wal_size = 4GB
checkpoint_timeout = 15min
synchronous_commit = off
jit = off
logging_collector = off
"""


class EmbeddedPostgresError(RuntimeError):
    pass


@lru_cache(maxsize=1)
def _binaries() -> Path:
    """The folder holding pg_ctl/initdb: DOMOTIC_PG_BIN, Debian's newest, or pg_config's."""
    if os.environ.get("DOMOTIC_PG_BIN"):
        return Path(os.environ["DOMOTIC_PG_BIN"])
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if candidates:
        return Path(candidates[-1]).parent
    if shutil.which("pg_config"):
        bindir = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
        if (Path(bindir) / "initdb").exists():
            return Path(bindir)
    if os.geteuid() == 0 and shutil.which("apt-get"):
        apt_install("postgresql")
        return _binaries.__wrapped__()
    raise EmbeddedPostgresError(
        "no PostgreSQL server binaries found: install PostgreSQL (Debian: apt-get install postgresql), "
        "set DOMOTIC_PG_BIN to its bin folder, or point DOMOTIC_PG_DSN at an existing server"
    )


def client_binary(name: str) -> Path:
    """A client program (`pg_dump`, `pg_restore`) of the newest PostgreSQL on this machine: it reads and
    writes dumps of that version and of every older server."""
    return _binaries() / name


class EmbeddedPostgres:
    """One private cluster in `folder` (`data/`, `server.log`, `password`, `port`)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder).resolve()  # the server runs as another user, from another folder
        self.data = self.folder / "data"
        self.run_as = "postgres" if os.geteuid() == 0 else None

    @property
    def password(self) -> str:
        return (self.folder / "password").read_text().strip()

    @property
    def passfile(self) -> Path:
        """The password in libpq's format, readable by the platform's user only (libpq ignores it
        otherwise)."""
        path = self.folder / "pgpass"
        if not path.exists():
            path.touch(mode=0o600)
            path.write_text(f"127.0.0.1:*:*:{ROLE}:{self.password}\n")
        return path

    def dsn(self, port: int, database: str = DATABASE) -> str:
        return f"postgresql://{ROLE}@127.0.0.1:{port}/{database}?passfile={quote(str(self.passfile))}"

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        """Run a server binary as the server user; callers turn failures into readable errors."""
        # user, group and no supplementary groups: keeping root's gid would make a root-owned
        # drwx-----x parent deny us (group bits apply before the "other" bits)
        drop = {"user": self.run_as, "group": self.run_as, "extra_groups": []} if self.run_as else {}
        return subprocess.run(
            [str(_binaries() / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            env={**os.environ, "LC_ALL": "C.UTF-8"},
            cwd="/",
            **drop,
        )

    def _prepare_folder(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.run_as:
            owner = pwd.getpwnam(self.run_as)
            # the server user must be able to reach its data folder through our parents
            for parent in [self.folder, *self.folder.parents]:
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    parent.chmod(mode | 0o001)
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)

    def _initdb(self) -> None:
        (self.folder / "pgpass").unlink(missing_ok=True)
        password = secrets.token_urlsafe(24)
        pwfile = self.folder / "password"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
        if self.run_as:
            owner = pwd.getpwnam(self.run_as)
            os.chown(pwfile, owner.pw_uid, owner.pw_gid)
        done = self._run(
            "initdb",
            "-D",
            str(self.data),
            f"--username={ROLE}",
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--no-locale",
        )
        if done.returncode:
            raise EmbeddedPostgresError(f"initdb failed in {self.data}:\n{done.stderr[-2000:]}")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(SERVER_SETTINGS)

    def running_port(self) -> int | None:
        pid_file = self.data / "postmaster.pid"
        if not pid_file.exists():
            return None
        if self._run("pg_ctl", "status", "-D", str(self.data)).returncode != 0:
            return None
        lines = pid_file.read_text().splitlines()
        return int(lines[3]) if len(lines) > 3 else None

    @contextmanager
    def _lock(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder.parent / ".pg.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def ensure_running(self) -> tuple[str, bool]:
        """Start the server if it is not running. Returns (dsn, whether this call started it)."""
        with self._lock():
            port = self.running_port()
            if port:
                return self.dsn(port), False
            self._prepare_folder()
            if not (self.data / "PG_VERSION").exists():
                if self.data.exists():
                    shutil.rmtree(self.data)  # a half-made cluster from an interrupted initdb
                self._initdb()
            port_file = self.folder / "port"
            port = int(port_file.read_text()) if port_file.exists() else 0
            if not port or not port_free(port):
                port = free_port()
            port = self._start(port)
            port_file.write_text(str(port))
            self._ensure_database(port)
            return self.dsn(port), True

    def _start(self, port: int, attempts: int = 3) -> int:
        """Start the server on `port`, or on a new free port when another process took that one
        between the check and the bind. Returns the port it listens on."""
        log = self.folder / "server.log"
        for attempt in range(1, attempts + 1):
            before = log.stat().st_size if log.exists() else 0
            started = self._run(
                "pg_ctl", "start", "-D", str(self.data), "-l", str(log), "-w", "-t", "60", "-o", f"-p {port}"
            )
            if not started.returncode:
                return port
            tail = log.read_bytes()[before:].decode(errors="replace")[-2000:] if log.exists() else ""
            if attempt == attempts or "Address already in use" not in tail:
                raise EmbeddedPostgresError(
                    f"the private PostgreSQL server did not start:\n{started.stderr}\n{tail}"
                )
            port = free_port()
        return port

    def _ensure_database(self, port: int) -> None:
        import psycopg

        admin = self.dsn(port, "postgres")
        for attempt in range(50):
            try:
                with psycopg.connect(admin, autocommit=True) as conn:
                    if not conn.execute(
                        "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
                    ).fetchone():
                        conn.execute(f'CREATE DATABASE "{DATABASE}"')
                    return
            except psycopg.OperationalError:
                if attempt == 49:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        with self._lock():
            if self.running_port():
                self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "fast", "-w", "-t", "60")


@contextmanager
def warehouse_dsn(configured_dsn: str | None, folder: Path) -> Iterator[str]:
    """The DSN to use: the configured one, or the private server, stopped on exit if we started it."""
    if configured_dsn:
        yield configured_dsn
        return
    server = EmbeddedPostgres(folder)
    dsn, started = server.ensure_running()
    try:
        yield dsn
    finally:
        if started:
            server.stop()
