"""What every benchmark prints: a timed figure beside the baseline measured in the same run."""

import time
from pathlib import Path

import psycopg


def timed(fn):
    """(seconds, result) of calling `fn`."""
    began = time.perf_counter()
    value = fn()
    return time.perf_counter() - began, value


def line(name: str, seconds: float, baseline: float, count: int, unit: str) -> None:
    print(
        f"{name:<46} {seconds:8.2f} s  {count / seconds:>10,.0f} {unit}/s   "
        f"baseline {baseline:6.2f} s  ratio {seconds / baseline:5.1f}x"
    )


def raw_copy_seconds(conn: psycopg.Connection, work: Path) -> float:
    """The physical reference of a Silver load: seconds of a raw binary COPY of silver.sensor_events' rows
    (dumped to a file first) into an unlogged copy of the table, on an autocommit connection."""
    dump = work / "events.bin"
    with (
        open(dump, "wb") as out,
        conn.cursor().copy("COPY (SELECT * FROM silver.sensor_events) TO STDOUT (FORMAT BINARY)") as copy,
    ):
        for block in copy:
            out.write(block)
    conn.execute("DROP TABLE IF EXISTS silver.raw_copy_reference")
    conn.execute("CREATE UNLOGGED TABLE silver.raw_copy_reference (LIKE silver.sensor_events)")
    began = time.perf_counter()
    with (
        conn.transaction(),
        open(dump, "rb") as source,
        conn.cursor().copy("COPY silver.raw_copy_reference FROM STDIN (FORMAT BINARY)") as copy,
    ):
        while block := source.read(1 << 20):
            copy.write(block)
    seconds = time.perf_counter() - began
    conn.execute("DROP TABLE silver.raw_copy_reference")
    dump.unlink()
    return seconds
