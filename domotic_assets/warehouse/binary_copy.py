"""Data frames as PostgreSQL binary COPY payloads, encoded by pgpq from Arrow columns.

Encoding is column-wise in compiled code (no Python call per row), and the payload is plain bytes, so a
worker process can encode its day and the writer only streams bytes to the server.
"""

from __future__ import annotations

import pandas as pd
import psycopg
import pyarrow as pa
from pgpq import ArrowToPostgresBinaryEncoder

ARROW_TYPES = {
    "text": pa.string(),
    "timestamptz": pa.timestamp("us", tz="UTC"),  # same wire format as timestamp: microseconds since 2000
    "float8": pa.float64(),
    "bool": pa.bool_(),
    "int8": pa.int64(),
    "int4": pa.int32(),
    "date": pa.date32(),
}


def encode(frame: pd.DataFrame, types: list[str]) -> bytes:
    """The whole binary COPY stream (header, rows, trailer) of `frame`, column `i` as PostgreSQL type
    `types[i]`; None and NaN in a text or timestamp column are NULL."""
    schema = pa.schema([(str(name), ARROW_TYPES[kind]) for name, kind in zip(frame.columns, types)])
    table = pa.Table.from_arrays([_arrow(frame[field.name], field.type) for field in schema], schema=schema)
    encoder = ArrowToPostgresBinaryEncoder(table.schema)
    parts = [encoder.write_header()]
    parts += [encoder.write_batch(batch) for batch in table.to_batches()]
    parts.append(encoder.finish())
    return b"".join(parts)


def _arrow(column: pd.Series, kind: pa.DataType) -> pa.Array:
    """A column as Arrow; a categorical text column is expanded from its codes inside Arrow, without a
    Python string per row."""
    if isinstance(column.dtype, pd.CategoricalDtype) and kind == pa.string():
        codes = column.cat.codes.to_numpy()
        words = pa.array(column.cat.categories.to_numpy(dtype=object), pa.string())
        return pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes < 0), words).dictionary_decode()
    return pa.Array.from_pandas(column, type=kind, safe=False)


def copy_payload(
    cur: psycopg.Cursor, table: str, columns: list[str], payload: bytes, freeze: bool = False
) -> None:
    """Stream a payload made by `encode` (of a frame with these columns, in this order) into `table`.
    `freeze`: the table was created in this transaction, so its rows are written frozen and its pages
    all-visible (no vacuum pass over them later)."""
    options = "FORMAT BINARY, FREEZE" if freeze else "FORMAT BINARY"
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN ({options})") as copy:
        copy.write(payload)
