"""Opening a Parquet file within bounds before pyarrow reads it.

pyarrow trusts the footer: its length, the schema and row-group sizes decide what it
allocates. The footer length is checked from the last 8 bytes, thrift decoding is capped, and
every row group's declared size is bounded (pyarrow reads a column chunk of a row group at a
time), so a hostile file is refused with `ParquetRefused` instead of exhausting memory.
"""

from __future__ import annotations

import io
from typing import Any


class ParquetRefused(Exception):
    pass


def open_parquet(fileobj: Any, *, max_footer_bytes: int = 64 << 20, max_row_group_bytes: int = 1 << 30,
                 max_columns: int = 10_000) -> Any:
    """A `pyarrow.parquet.ParquetFile` over a seekable binary file, or `ParquetRefused`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        seekable = bool(fileobj.seekable())
    except (AttributeError, OSError, ValueError):
        seekable = False
    if not seekable:
        raise ParquetRefused("Parquet needs a seekable file (its footer is at the end)")
    start = fileobj.tell()
    size = fileobj.seek(0, io.SEEK_END) - start
    if size < 12:
        raise ParquetRefused("too short to be a Parquet file")
    fileobj.seek(start)
    head = fileobj.read(4)
    fileobj.seek(start + size - 8)
    tail = fileobj.read(8)
    fileobj.seek(start)
    if head != b"PAR1" or tail[4:] != b"PAR1":
        raise ParquetRefused("not a Parquet file (no PAR1 magic)")
    footer = int.from_bytes(tail[:4], "little")
    if footer > max_footer_bytes or footer > size - 12:
        raise ParquetRefused(f"Parquet footer of {footer} bytes is out of bounds")
    try:
        parquet = pq.ParquetFile(fileobj, thrift_string_size_limit=max_footer_bytes,
                                 thrift_container_size_limit=max(max_columns * 16, 1_000_000))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise ParquetRefused(f"unreadable Parquet metadata: {exc}") from exc
    metadata = parquet.metadata
    if metadata.num_columns > max_columns:
        raise ParquetRefused(f"{metadata.num_columns} columns (limit {max_columns})")
    for index in range(metadata.num_row_groups):
        declared = metadata.row_group(index).total_byte_size
        if declared > max_row_group_bytes:
            raise ParquetRefused(f"row group {index} declares {declared} bytes (limit {max_row_group_bytes})")
    return parquet
