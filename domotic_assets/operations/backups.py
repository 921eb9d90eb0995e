"""Backups of a deployment and their restore into a fresh server, with PostgreSQL's own tools.

A backup folder holds:
- `warehouse.dump`: `pg_dump --format=custom` of the warehouse, taken in one exported snapshot;
- `dagster.dump`: the Dagster instance's database, when its storage is PostgreSQL (SQLite storage lives in
  `DAGSTER_HOME`, backed up with that folder);
- `bronze-manifest.csv`: every Bronze file (path, bytes, sha256) as the warehouse recorded it, to check the
  Bronze folder (copied by file-level tools) against;
- `backup.json`, written last: each file's bytes and sha256, and each meta, silver and gold table's rows
  and digest read in the very snapshot that was dumped. A folder without it is an unfinished backup,
  refused by the restore; running the backup again into the same folder finishes it.

The restore checks every file against `backup.json`, restores in one transaction (a killed restore leaves
nothing), makes the platform's roles, grants and row-level security again (roles live outside a database
dump), and compares every table's digest with the backup's.

Passwords reach pg_dump and pg_restore through a libpq password file readable by this user only, never
through a command line or a URL.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import yaml
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from domotic_assets.warehouse import access_tables, table_digests
from domotic_assets.warehouse.connection import warehouse_password
from domotic_assets.warehouse.embedded import client_binary

MANIFEST = "backup.json"
WAREHOUSE_DUMP = "warehouse.dump"
DAGSTER_DUMP = "dagster.dump"
BRONZE_MANIFEST = "bronze-manifest.csv"


class BackupError(RuntimeError):
    """A backup that cannot be made or restored; the message says why and what to do."""


@dataclass(frozen=True)
class Database:
    """A server and database to dump or restore into, and its password (kept out of the DSN)."""

    dsn: str
    password: str | None = None

    @classmethod
    def of_warehouse(cls, dsn: str) -> Database:
        return cls(dsn, warehouse_password(dsn))

    def connect(self, **options) -> psycopg.Connection:
        return psycopg.connect(self.dsn, **({"password": self.password} if self.password else {}), **options)

    @property
    def name(self) -> str:
        return conninfo_to_dict(self.dsn).get("dbname") or "?"


@contextmanager
def _libpq_env(database: Database) -> Iterator[dict[str, str]]:
    """The environment for a PostgreSQL client program: the password in a temporary password file of this
    user's alone (a DSN naming its own `passfile` needs none)."""
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    if not database.password:
        yield env
        return
    with tempfile.TemporaryDirectory(prefix="domotic-pgpass-") as folder:
        passfile = Path(folder) / "pgpass"
        passfile.touch(mode=0o600)
        escaped = database.password.replace("\\", "\\\\").replace(":", "\\:")
        passfile.write_text(f"*:*:*:*:{escaped}\n")
        yield {**env, "PGPASSFILE": str(passfile)}


def _run(database: Database, program: str, *args: str) -> None:
    command = client_binary(program)
    if not command.exists():
        raise BackupError(f"{program} is not in {command.parent}: install PostgreSQL's client programs")
    with _libpq_env(database) as env:
        done = subprocess.run(
            [str(command), *args, "--no-password", f"--dbname={database.dsn}"],
            env=env,
            capture_output=True,
            text=True,
        )
    if done.returncode:
        raise BackupError(f"{program} failed on database {database.name}: {done.stderr.strip()[-2000:]}")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dagster_database(dagster_home: Path) -> Database | None:
    """The Dagster instance's PostgreSQL database, from `DAGSTER_HOME/dagster.yaml` (`storage: postgres:`
    with `postgres_db` fields, each a value or `{env: VARIABLE}`, as in deploy/dagster.yaml), or None when
    the instance keeps its storage elsewhere (SQLite)."""
    path = Path(dagster_home) / "dagster.yaml"
    config = (yaml.safe_load(path.read_text()) or {}) if path.exists() else {}
    fields = ((config.get("storage") or {}).get("postgres") or {}).get("postgres_db")
    if not fields:
        return None

    def value(key: str, default: str | None = None) -> str | None:
        found = fields.get(key, default)
        return os.environ.get(found["env"]) if isinstance(found, dict) else found

    dsn = make_conninfo(
        host=value("hostname"),
        port=value("port", "5432"),
        user=value("username"),
        dbname=value("db_name"),
    )
    return Database(dsn, value("password"))


def make_backup(warehouse: Database, folder: Path, dagster: Database | None = None) -> dict:
    """Back up into `folder` (made if missing; a previous backup there is replaced): see the module's
    docstring. Returns the manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).unlink(missing_ok=True)  # the folder holds no finished backup until the end
    made_at = datetime.now(UTC)
    with warehouse.connect() as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.transaction():
            snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
            _dump(warehouse, folder / WAREHOUSE_DUMP, snapshot)
            tables = table_digests.digests(conn)
            bronze = table_digests.bronze_manifest(conn)
            server = conn.execute("SHOW server_version").fetchone()[0]
    with _partial(folder / BRONZE_MANIFEST) as partial, partial.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "bytes", "sha256"])
        writer.writerows(bronze)
    files = [WAREHOUSE_DUMP, BRONZE_MANIFEST]
    if dagster is not None:
        _dump(dagster, folder / DAGSTER_DUMP, None)
        files.append(DAGSTER_DUMP)
    else:
        (folder / DAGSTER_DUMP).unlink(missing_ok=True)
    manifest = {
        "made_at": made_at.isoformat(),
        "postgres": server,
        "dagster": "postgres" if dagster is not None else "not in PostgreSQL: back up DAGSTER_HOME",
        "files": {
            name: {"bytes": (folder / name).stat().st_size, "sha256": sha256_of(folder / name)}
            for name in files
        },
        "tables": {name: {"rows": d.rows, "digest": d.digest} for name, d in tables.items()},
        "bronze_files": len(bronze),
    }
    with _partial(folder / MANIFEST) as partial:
        partial.write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


@contextmanager
def _partial(path: Path) -> Iterator[Path]:
    """A file written beside `path` and renamed onto it when complete, flushed to disk first."""
    partial = path.with_name(path.name + ".partial")
    yield partial
    with partial.open("rb") as handle:
        os.fsync(handle.fileno())
    partial.replace(path)


def _dump(database: Database, path: Path, snapshot: str | None) -> None:
    with _partial(path) as partial:
        options = [f"--snapshot={snapshot}"] if snapshot else []
        _run(database, "pg_dump", "--format=custom", f"--file={partial}", *options)


def read_manifest(folder: Path) -> dict:
    """The backup's manifest, after checking every file it names against its sha256."""
    path = folder / MANIFEST
    if not path.exists():
        raise BackupError(f"{folder} holds no finished backup (no {MANIFEST}): run the backup again")
    manifest = json.loads(path.read_text())
    for name, expected in manifest["files"].items():
        if not (folder / name).exists():
            raise BackupError(f"{name} is missing from {folder}")
        if sha256_of(folder / name) != expected["sha256"]:
            raise BackupError(f"{name} in {folder} is not the file backed up (its sha256 differs)")
    return manifest


@dataclass
class Restored:
    """What a restore did, and what is left to the administrator."""

    tables: int
    sql_logins: list[str] = field(default_factory=list)
    dagster: bool = False


def restore_backup(folder: Path, warehouse: Database, dagster: Database | None = None) -> Restored:
    """Restore the backup in `folder` into an empty warehouse database (and the Dagster instance's, if it
    was backed up and `dagster` is given). The platform's roles are made again, with their grants and the
    row-level security; BI logins (`domotic accounts sql-login`) must be issued again, their roles and
    passwords belonging to the old server. Raises BackupError when a table's digest differs."""
    manifest = read_manifest(folder)
    with warehouse.connect(autocommit=True) as conn:
        taken = conn.execute(
            "SELECT string_agg(nspname, ', ') FROM pg_namespace WHERE nspname = ANY(%s)",
            (list(table_digests.SCHEMAS),),
        ).fetchone()[0]
        if taken:
            raise BackupError(f"database {warehouse.name} already holds {taken}: restore into an empty one")
        if not access_tables.may_make_roles(conn):
            raise BackupError(
                f"restoring needs a role that may make roles (the platform's reader and API roles) "
                f"on database {warehouse.name}"
            )
    _run(
        warehouse,
        "pg_restore",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
        str(folder / WAREHOUSE_DUMP),
    )
    with warehouse.connect(autocommit=True) as conn:
        access_tables.ensure_roles(conn)
        logins = access_tables.sql_login_roles(conn)
    with warehouse.connect() as conn, conn.transaction():
        found = table_digests.digests(conn)
    expected = manifest["tables"]
    differing = sorted(
        name
        for name in set(expected) | set(found)
        if name not in found
        or name not in expected
        or (found[name].rows, found[name].digest) != (expected[name]["rows"], expected[name]["digest"])
    )
    if differing:
        raise BackupError(f"restored, but these tables differ from the backup: {', '.join(differing)}")
    restored = Restored(len(found), logins)
    if dagster is not None and DAGSTER_DUMP in manifest["files"]:
        _run(
            dagster,
            "pg_restore",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            str(folder / DAGSTER_DUMP),
        )
        restored.dagster = True
    return restored
