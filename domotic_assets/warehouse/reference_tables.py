"""pidb's reference data in the warehouse, and every statement on it: the ten `silver.dim_*` tables
(their columns follow `ingest.pidb_schema`) and `meta.dim_imports` (what each import found).

A table whose content changed is replaced in one transaction (readers see the old rows or the new,
never a mix); one that did not change is not rewritten, only its import time is.
"""

from __future__ import annotations

import psycopg

from domotic_assets.settings import PLATFORM_TIMEZONE

DDL = """
CREATE TABLE IF NOT EXISTS meta.dim_imports (
    table_name    text PRIMARY KEY,
    row_count     bigint      NOT NULL,
    content_hash  text        NOT NULL,
    imported_at   timestamptz NOT NULL,
    changed_at    timestamptz NOT NULL
);
"""


def _exists(conn: psycopg.Connection | psycopg.Cursor, table: str) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"silver.{table}",)).fetchone()[0]


def imported_hashes(conn: psycopg.Connection) -> dict[str, str]:
    """Silver table -> the content hash of what was imported last."""
    return dict(conn.execute("SELECT table_name, content_hash FROM meta.dim_imports").fetchall())


def replace_table(
    conn: psycopg.Connection, table: str, columns_ddl: str, columns: list[str], rows: list[tuple], digest: str
) -> bool:
    """Make `silver.<table>` hold `rows` (whose content hash is `digest`); False when it already did."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (table,))
        cur.execute("SELECT content_hash FROM meta.dim_imports WHERE table_name = %s", (table,))
        previous = cur.fetchone()
        if previous and previous[0] == digest and _exists(cur, table):
            cur.execute("UPDATE meta.dim_imports SET imported_at = now() WHERE table_name = %s", (table,))
            return False
        cur.execute(
            """SELECT array_agg(column_name::text ORDER BY ordinal_position) FROM information_schema.columns
               WHERE table_schema = 'silver' AND table_name = %s""",
            (table,),
        )
        present = cur.fetchone()[0]
        if present is not None and present != list(columns):  # pidb's contract added or dropped a column
            cur.execute(f"DROP TABLE silver.{table}")
        cur.execute(f"CREATE TABLE IF NOT EXISTS silver.{table} ({columns_ddl})")
        cur.execute(f"TRUNCATE silver.{table}")
        quoted = ", ".join(f'"{c}"' for c in columns)
        with cur.copy(f"COPY silver.{table} ({quoted}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute(
            """INSERT INTO meta.dim_imports (table_name, row_count, content_hash, imported_at, changed_at)
               VALUES (%s, %s, %s, now(), now())
               ON CONFLICT (table_name) DO UPDATE SET row_count = excluded.row_count,
                   content_hash = excluded.content_hash, imported_at = now(), changed_at = now()""",
            (table, len(rows), digest),
        )
    return True


def building_zones(conn: psycopg.Connection) -> dict[str, str]:
    """Building id and apartment code -> time zone (the platform's where pidb gives none); empty before
    the first import."""
    if not _exists(conn, "dim_buildings"):
        return {}
    zones = {}
    for building_id, code, tz in conn.execute("SELECT id, code, timezone FROM silver.dim_buildings"):
        zones[str(building_id)] = zones[code] = tz or PLATFORM_TIMEZONE
    return zones


def weather_sites(conn: psycopg.Connection) -> set[str]:
    """The weather sites some building is tied to."""
    if not _exists(conn, "dim_buildings"):
        return set()
    rows = conn.execute(
        "SELECT DISTINCT weather_site FROM silver.dim_buildings WHERE weather_site IS NOT NULL"
    )
    return {site for (site,) in rows}


def parameter(conn: psycopg.Connection, name: str, default: float) -> float:
    """The newest value of a pidb parameter, or `default`."""
    if not _exists(conn, "dim_parameters"):
        return default
    row = conn.execute(
        "SELECT value FROM silver.dim_parameters WHERE name = %s ORDER BY valid_from DESC LIMIT 1", (name,)
    ).fetchone()
    return float(row[0]) if row else default


def parameters_named(conn: psycopg.Connection, prefix: str) -> dict[str, float]:
    """The newest value of every pidb parameter whose name starts with `prefix`."""
    if not _exists(conn, "dim_parameters"):
        return {}
    rows = conn.execute(
        """SELECT DISTINCT ON (name) name, value FROM silver.dim_parameters WHERE starts_with(name, %s)
           ORDER BY name, valid_from DESC""",
        (prefix,),
    )
    return {name: float(value) for name, value in rows}
