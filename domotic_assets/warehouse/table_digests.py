"""What each warehouse table holds, as a row count and a digest two servers can be compared by: a backup
records them and a restore must find them again. The digest does not depend on the rows' order (a sum of
each row's hash), so it costs one pass over a table and no sort."""

from __future__ import annotations

from typing import NamedTuple

import psycopg
from psycopg import sql

SCHEMAS = ("meta", "silver", "gold")


class TableDigest(NamedTuple):
    rows: int
    digest: str


def tables(conn: psycopg.Connection, schemas: tuple[str, ...] = SCHEMAS) -> list[tuple[str, str]]:
    """Every table of `schemas` as (schema, name): plain, partitioned (whole, its partitions in it) and
    materialized views; not the partitions themselves."""
    return conn.execute(
        """SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p', 'm') AND NOT c.relispartition
           ORDER BY 1, 2""",
        (list(schemas),),
    ).fetchall()


def digests(conn: psycopg.Connection, schemas: tuple[str, ...] = SCHEMAS) -> dict[str, TableDigest]:
    """`schema.table` -> its rows and digest, read in the connection's transaction (a backup reads them in
    the snapshot it dumps)."""
    return {f"{schema}.{name}": digest_of(conn, schema, name) for schema, name in tables(conn, schemas)}


def digest_of(
    conn: psycopg.Connection, schema: str, name: str, where: sql.Composable | None = None
) -> TableDigest:
    """The rows of `schema.name` (those matching `where`) and their digest, in the connection's
    transaction. Times are written in UTC and floats in full, so neither the session's zone nor its float
    settings matter."""
    conn.execute("SET LOCAL TimeZone = 'UTC'")
    conn.execute("SET LOCAL extra_float_digits = 3")
    query = sql.SQL(
        "SELECT count(*), coalesce(sum(('x' || left(md5(t::text), 15))::bit(60)::bigint), 0) FROM {} t"
    ).format(sql.Identifier(schema, name))
    if where is not None:
        query = sql.SQL("{} WHERE {}").format(query, where)
    rows, total = conn.execute(query).fetchone()
    return TableDigest(rows, f"{int(total):x}")


def bronze_manifest(conn: psycopg.Connection) -> list[tuple[str, int, str]]:
    """Every file Bronze holds, as the warehouse recorded it when it stored the file: (its path under the
    Bronze folder, bytes, sha256)."""
    return conn.execute(
        """SELECT bronze_path, size, checksum FROM meta.bronze_sensor_files WHERE bronze_path <> ''
           UNION ALL SELECT bronze_path, size, checksum FROM meta.bronze_weather_files
           ORDER BY 1"""
    ).fetchall()
