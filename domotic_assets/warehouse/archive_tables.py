"""`meta.archives`, and the warehouse's side of archiving: what was archived where (each Bronze apartment-day,
each Silver day partition, each Gold minute fact's day), with its rows and digest; reading a day's rows
out as Arrow, loading them back, and dropping a day once its archive is verified. Every statement on
`meta.archives` is here, its DDL included; the day partitions and facts are dropped through the functions
below, under the same lock the loads take."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import psycopg
import pyarrow as pa
from psycopg import sql
from psycopg.rows import dict_row

from domotic_assets.warehouse.silver_tables import day_bounds, partition_lock, partition_of
from domotic_assets.warehouse.table_digests import TableDigest, digest_of

DDL = """
CREATE TABLE IF NOT EXISTS meta.archives (
    layer       text        NOT NULL,  -- bronze | silver | gold
    relation    text        NOT NULL,  -- bronze: the apartment's folder (or weather); else schema.table
    day         date        NOT NULL,
    path        text        NOT NULL,  -- under the archive folder
    rows        bigint      NOT NULL,  -- Bronze: files
    digest      text        NOT NULL,  -- Bronze: sha256 of its manifest; else the rows' digest
    file_sha256 text        NOT NULL,
    archived_at timestamptz NOT NULL DEFAULT now(),
    removed_at  timestamptz,           -- when the source was dropped, after its archive was verified
    restored_at timestamptz,
    PRIMARY KEY (layer, relation, day)
);
-- the archive's size when made, and when its sha256 was last read back and matched (null: before these
-- were kept; the next night's check reads it)
ALTER TABLE meta.archives ADD COLUMN IF NOT EXISTS file_bytes bigint;
ALTER TABLE meta.archives ADD COLUMN IF NOT EXISTS verified_at timestamptz;
"""

SILVER_DAY_TABLES = ("sensor_events", "household_telemetry")
"""Silver's minute tables, one partition per local day."""
GOLD_MINUTE_FACTS = ("fact_energy_minute", "fact_environment_minute", "fact_presence_minute")
"""Gold's minute facts, with a `local_day` column; aggregates are kept forever."""

ARROW_TYPES = {
    "text": pa.string(),
    "double precision": pa.float64(),
    "real": pa.float32(),
    "boolean": pa.bool_(),
    "bigint": pa.int64(),
    "integer": pa.int32(),
    "smallint": pa.int16(),
    "date": pa.date32(),
    "timestamp with time zone": pa.timestamp("us", tz="UTC"),
    "timestamp without time zone": pa.timestamp("us"),
    "numeric": pa.string(),  # exact: kept as its text
}


def record(
    conn: psycopg.Connection,
    layer: str,
    relation: str,
    day: date,
    path: str,
    rows: int,
    digest: str,
    file_sha256: str,
    file_bytes: int,
) -> None:
    """An archive made and verified (replacing an earlier one of the same day, whose source was not
    dropped)."""
    conn.execute(
        """INSERT INTO meta.archives (layer, relation, day, path, rows, digest, file_sha256, file_bytes,
               verified_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, now())
           ON CONFLICT (layer, relation, day) DO UPDATE SET path = excluded.path, rows = excluded.rows,
               digest = excluded.digest, file_sha256 = excluded.file_sha256, file_bytes = excluded.file_bytes,
               verified_at = now(), archived_at = now(), removed_at = NULL, restored_at = NULL""",
        (layer, relation, day, path, rows, digest, file_sha256, file_bytes),
    )


def read_back(conn: psycopg.Connection, layer: str, relation: str, day: date, file_bytes: int) -> None:
    """The archive's sha256 was read back and matched now (its size kept if it was not)."""
    conn.execute(
        """UPDATE meta.archives SET verified_at = now(), file_bytes = coalesce(file_bytes, %s)
           WHERE layer = %s AND relation = %s AND day = %s""",
        (file_bytes, layer, relation, day),
    )


def mark(conn: psycopg.Connection, layer: str, relation: str, day: date, what: str) -> None:
    """The day's source was dropped (`removed`) or put back (`restored`)."""
    column = {"removed": "removed_at", "restored": "restored_at"}[what]
    reset = "restored_at" if what == "removed" else "removed_at"
    conn.execute(
        sql.SQL(
            "UPDATE meta.archives SET {} = now(), {} = NULL WHERE layer = %s AND relation = %s AND day = %s"
        ).format(sql.Identifier(column), sql.Identifier(reset)),
        (layer, relation, day),
    )


def archived(
    conn: psycopg.Connection, layer: str | None = None, first: date | None = None, last: date | None = None
) -> list[dict]:
    """The archives of `layer` (all when None) whose day lies in [first, last]."""
    cur = conn.cursor(row_factory=dict_row)
    return cur.execute(
        """SELECT layer, relation, day, path, rows, digest, file_sha256, file_bytes, verified_at, removed_at,
                  restored_at
           FROM meta.archives
           WHERE (%(layer)s::text IS NULL OR layer = %(layer)s)
             AND (%(first)s::date IS NULL OR day >= %(first)s) AND (%(last)s::date IS NULL OR day <= %(last)s)
           ORDER BY day, layer, relation""",
        {"layer": layer, "first": first, "last": last},
    ).fetchall()


def archived_away(
    conn: psycopg.Connection, layers: set[str], days: list[date]
) -> list[tuple[str, str, date]]:
    """(layer, relation, day) of the `days` whose rows or files of `layers` are archived and not back."""
    if conn.execute("SELECT to_regclass('meta.archives')").fetchone()[0] is None:
        return []
    return conn.execute(
        """SELECT layer, relation, day FROM meta.archives
           WHERE layer = ANY(%s) AND day = ANY(%s) AND removed_at IS NOT NULL
           ORDER BY day, layer, relation""",
        (sorted(layers), days),
    ).fetchall()


def silver_days(conn: psycopg.Connection, table: str, before: date) -> list[date]:
    """The local days before `before` whose partition of `silver.table` exists."""
    names = conn.execute(
        """SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = %s::regclass""",
        (f"silver.{table}",),
    ).fetchall()
    prefix = f"{table}_"
    days = sorted(date(int(n[-8:-4]), int(n[-4:-2]), int(n[-2:])) for (n,) in names if n.startswith(prefix))
    return [d for d in days if d < before]


def gold_days(conn: psycopg.Connection, fact: str, before: date) -> list[date]:
    """The local days before `before` that `gold.fact` holds rows of."""
    if conn.execute("SELECT to_regclass(%s)", (f"gold.{fact}",)).fetchone()[0] is None:
        return []
    query = sql.SQL("SELECT DISTINCT local_day FROM {} WHERE local_day < %s ORDER BY 1").format(
        sql.Identifier("gold", fact)
    )
    return [d for (d,) in conn.execute(query, (before,))]


def source_of(layer: str, relation: str, day: date) -> tuple[str, str, sql.Composable | None]:
    """(schema, table, condition) holding the day's rows of a Silver or Gold relation."""
    schema, table = relation.split(".")
    if layer == "silver":
        return schema, partition_of(table, day), None
    return schema, table, sql.SQL("local_day = {}").format(sql.Literal(day))


def digest_day(conn: psycopg.Connection, layer: str, relation: str, day: date) -> TableDigest:
    schema, table, where = source_of(layer, relation, day)
    return digest_of(conn, schema, table, where)


def columns(conn: psycopg.Connection, relation: str) -> list[tuple[str, str]]:
    schema, table = relation.split(".")
    return conn.execute(
        """SELECT column_name, data_type FROM information_schema.columns
           WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position""",
        (schema, table),
    ).fetchall()


def read_day(conn: psycopg.Connection, layer: str, relation: str, day: date) -> pa.Table:
    """The day's rows, every column, as Arrow with its PostgreSQL types (numeric kept as text)."""
    schema, table, where = source_of(layer, relation, day)
    described = columns(conn, relation)
    names = [
        sql.Identifier(name) if kind != "numeric" else sql.SQL("{}::text").format(sql.Identifier(name))
        for name, kind in described
    ]
    query = sql.SQL("SELECT {} FROM {}").format(sql.SQL(", ").join(names), sql.Identifier(schema, table))
    if where is not None:
        query = sql.SQL("{} WHERE {}").format(query, where)
    rows = conn.execute(query).fetchall()
    arrow_schema = pa.schema([(name, ARROW_TYPES.get(kind, pa.string())) for name, kind in described])
    values = list(zip(*rows, strict=True)) if rows else [()] * len(described)
    return pa.Table.from_arrays(
        [pa.array(column, type=field.type) for column, field in zip(values, arrow_schema, strict=True)],
        schema=arrow_schema,
    )


def _rows(data: pa.Table) -> Iterator[tuple]:
    for batch in data.to_batches(max_chunksize=50_000):
        yield from zip(*(column.to_pylist() for column in batch.columns), strict=True)


def load_rows(conn: psycopg.Connection, target: sql.Composable, data: pa.Table) -> None:
    """COPY the Arrow rows into `target` (its columns in the Arrow table's order)."""
    fields = sql.SQL(", ").join(sql.Identifier(name) for name in data.column_names)
    with conn.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN").format(target, fields)) as copy:
        for row in _rows(data):
            copy.write_row(row)


def digest_of_rows(conn: psycopg.Connection, relation: str, data: pa.Table) -> TableDigest:
    """The digest the rows would have in `relation`: loaded into a temporary copy of its columns and read
    the same way (an archive is verified by the very rule the warehouse is)."""
    schema, table = relation.split(".")
    conn.execute(
        sql.SQL("CREATE TEMP TABLE archive_check (LIKE {}) ON COMMIT DROP").format(
            sql.Identifier(schema, table)
        )
    )
    load_rows(conn, sql.Identifier("archive_check"), data)
    found = digest_of(conn, "pg_temp", "archive_check")
    conn.execute("DROP TABLE archive_check")
    return found


def drop_day(conn: psycopg.Connection, layer: str, relation: str, day: date, expected: TableDigest) -> bool:
    """Drop the day's rows (detach and drop a Silver partition; delete a Gold fact's day) and mark its
    archive `removed`, in one transaction, under the partition's lock, only if the rows still are exactly
    what was archived. False when they changed since (late data): archive again."""
    schema, table, where = source_of(layer, relation, day)
    with conn.transaction(), conn.cursor() as cur:
        if layer == "silver":
            partition_lock(cur, table)
        if digest_of(conn, schema, table, where) != expected:
            return False
        if layer == "silver":
            parent = relation.split(".")[1]
            cur.execute(
                sql.SQL("ALTER TABLE {} DETACH PARTITION {}").format(
                    sql.Identifier(schema, parent), sql.Identifier(schema, table)
                )
            )
            cur.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(schema, table)))
        else:
            cur.execute(sql.SQL("DELETE FROM {} WHERE {}").format(sql.Identifier(schema, table), where))
        mark(conn, layer, relation, day, "removed")
    return True


def put_back(
    conn: psycopg.Connection, layer: str, relation: str, day: date, data: pa.Table, expected: TableDigest
) -> None:
    """Load an archived day back where it was (a Silver partition made again, a Gold fact's day) and mark
    its archive `restored`, in one transaction: refused when the day already holds rows, and rolled back
    unless the rows loaded have the archive's digest."""
    schema, table, where = source_of(layer, relation, day)
    with conn.transaction(), conn.cursor() as cur:
        if layer == "silver":
            parent = relation.split(".")[1]
            partition_lock(cur, table)
            if cur.execute("SELECT to_regclass(%s)", (f"{schema}.{table}",)).fetchone()[0] is None:
                low, high = day_bounds(day)
                cur.execute(
                    sql.SQL("CREATE TABLE {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})").format(
                        sql.Identifier(schema, table),
                        sql.Identifier(schema, parent),
                        sql.Literal(low),
                        sql.Literal(high),
                    )
                )
        if digest_of(conn, schema, table, where).rows:
            raise ValueError(f"{relation} already holds rows of {day}: not restored over them")
        load_rows(conn, sql.Identifier(schema, table), data)
        found = digest_of(conn, schema, table, where)
        if found != expected:
            raise ValueError(f"{relation} {day}: the rows restored differ from the archive ({found})")
        mark(conn, layer, relation, day, "restored")
