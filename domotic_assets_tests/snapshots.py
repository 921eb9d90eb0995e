"""What a warehouse holds, table by table, in a form two databases can be compared by."""

import psycopg

VOLATILE = {
    "id",
    "loaded_at",
    "registered_at",
    "stored_at",
    "imported_at",
    "changed_at",
    "created_at",
    "solve_seconds",
    "received_at",
    "sent_at",
    "acked_at",
    "trained_at",
    "built_at",
    "model_version_key",
}
"""Columns that say when or in which order something happened, not what it is."""
FILE_IDS = {"source_file_id", "file_id"}
"""References to meta.bronze_sensor_files.id: compared as the file's source path."""


def warehouse_snapshot(dsn: str, schemas=("meta", "silver", "gold")) -> dict[str, tuple[int, str]]:
    """Every table of `schemas` (partitioned ones whole, leftovers included) -> (rows, md5 of its
    sorted rows), without volatile columns, floats to 9 decimals, and with file ids replaced by file paths."""
    out = {}
    with psycopg.connect(dsn) as conn:
        tables = conn.execute(
            """
            SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p') AND NOT c.relispartition
            ORDER BY 1, 2""",
            (list(schemas),),
        ).fetchall()
        for schema, table in tables:
            columns = conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s AND "
                "table_name = %s ORDER BY ordinal_position",
                (schema, table),
            ).fetchall()
            # a float aggregate may differ in its last digits when rows are summed in another order
            values = [
                f'(SELECT f.source_path FROM meta.bronze_sensor_files f WHERE f.id = t."{c}")'
                if c in FILE_IDS
                else f'round(t."{c}"::numeric, 9)'
                if kind == "double precision"
                else f't."{c}"'
                for c, kind in columns
                if c not in VOLATILE
            ]
            texts = [f"coalesce({v}::text, '<null>')" for v in values]
            row = f"concat_ws('|', {', '.join(texts)})"
            count, digest = conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(r, chr(10) ORDER BY r), '')) "
                f'FROM (SELECT {row} AS r FROM "{schema}"."{table}" t) rows'
            ).fetchone()
            out[f"{schema}.{table}"] = (count, digest)
    return out


def differences(got: dict, expected: dict) -> dict:
    """The tables whose content differs, with both (rows, digest)."""
    return {
        t: (got.get(t), expected.get(t))
        for t in sorted(set(got) | set(expected))
        if got.get(t) != expected.get(t)
    }
