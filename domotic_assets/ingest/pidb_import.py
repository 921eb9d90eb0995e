"""Reference data from `pidb` (MySQL/MariaDB or SQLite) into the ten `silver.dim_*` tables.

Idempotent: a table whose content did not change in `pidb` is not rewritten at all; one that
changed is replaced in a single transaction (readers see the old rows or the new, never a mix).
Only the contract's columns of the ten reference tables are read; `users` never is.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from domotic_assets.contracts.pidb import REFERENCE_TABLES
from domotic_assets.ingest.pidb_schema import metadata
from domotic_assets.settings import PLATFORM_TIMEZONE
from domotic_assets.warehouse import reference_tables


class PidbUnavailable(RuntimeError):
    """pidb could not be read; the Silver dimensions were left as they were."""


@dataclass(frozen=True)
class DimImport:
    table: str
    rows: int
    changed: bool
    content_hash: str


def dim_table(source: str) -> str:
    return f"dim_{source}"


def _pg_columns(table: sa.Table) -> str:
    dialect = postgresql.dialect()
    cols = [f'"{c.name}" {c.type.compile(dialect=dialect)}' for c in table.columns]
    keys = [c.name for c in table.primary_key.columns]
    if keys:
        cols.append(f"PRIMARY KEY ({', '.join(keys)})")
    return ", ".join(cols)


def _engine(pidb: str | sa.Engine, password: str | None = None) -> tuple[sa.Engine, bool]:
    """An engine for a URL and the password kept apart from it (ours to dispose of), or the caller's own
    engine."""
    if isinstance(pidb, sa.Engine):
        return pidb, False
    url = sa.engine.make_url(pidb)
    return sa.create_engine(url.set(password=password) if password else url, pool_pre_ping=True), True


def read_reference_tables(pidb: str | sa.Engine, password: str | None = None) -> dict[str, list[tuple]]:
    """Every reference table's rows in primary-key order (so the content hash is stable)."""
    engine, owned = _engine(pidb, password)
    try:
        with engine.connect() as conn:
            out = {}
            for name in REFERENCE_TABLES:
                table = metadata.tables[name]
                query = sa.select(*table.columns).order_by(*table.primary_key.columns)
                out[name] = [tuple(row) for row in conn.execute(query)]
            return out
    except sa.exc.SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        raise PidbUnavailable(
            f"cannot read pidb at {engine.url.render_as_string(hide_password=True)}: "
            f"{type(cause).__name__}: {cause}"
        ) from None
    finally:
        if owned:
            engine.dispose()


def apartment_timezones(pidb_url: str, password: str | None = None) -> dict[str, str]:
    """Apartment code -> IANA time zone, from `buildings` (wall-clock timestamps need it)."""
    buildings = metadata.tables["buildings"]
    engine, owned = _engine(pidb_url, password)
    try:
        with engine.connect() as conn:
            return {
                code: tz or PLATFORM_TIMEZONE
                for code, tz in conn.execute(sa.select(buildings.c.code, buildings.c.timezone))
            }
    finally:
        if owned:
            engine.dispose()


def _content_hash(rows: list[tuple]) -> str:
    digest = hashlib.sha256()
    for row in rows:
        digest.update(repr(row).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def content_hashes(pidb: str | sa.Engine, password: str | None = None) -> dict[str, str]:
    """Silver table -> the content hash its pidb table has now (what an import would record)."""
    return {
        dim_table(name): _content_hash(rows) for name, rows in read_reference_tables(pidb, password).items()
    }


def import_reference_tables(
    pidb: str | sa.Engine, conn: psycopg.Connection, password: str | None = None
) -> list[DimImport]:
    """Read everything first (so an unreachable pidb changes nothing), then write what changed."""
    tables = read_reference_tables(pidb, password)
    results = []
    for name, rows in tables.items():
        target, digest, table = dim_table(name), _content_hash(rows), metadata.tables[name]
        changed = reference_tables.replace_table(
            conn, target, _pg_columns(table), [c.name for c in table.columns], rows, digest
        )
        results.append(DimImport(target, len(rows), changed, digest))
    return results
