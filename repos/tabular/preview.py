"""The dataset viewer's reading: the first rows of a CSV/TSV, JSON Lines or Parquet file as a
table, the column types and the row count.

Pure (no Django): callers hand in a binary file object opened through the byte door. Memory
is bounded whatever the file: text formats are read line by line with a cap on each line and
on each cell kept, Parquet through its footer (checked before pyarrow trusts it) and the
first record batch only. Counting the rows of a text file reads it to the end (streamed);
that is why large files are previewed by the worker (`repos.services.dataset_preview`).
"""
from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, BinaryIO, Literal

PreviewFormat = Literal["csv", "tsv", "jsonl", "parquet"]

MAX_ROWS = 100  # rows shown
MAX_COLUMNS = 200
MAX_CELL_CHARS = 300  # longer cells are cut (with "…") for display
MAX_LINE_BYTES = 4 * 1024 * 1024  # one CSV record / JSON line; longer is an error, not a read
# Parquet: the footer pyarrow decodes and the first row group it reads are bounded first.
MAX_PARQUET_FOOTER = 16 * 1024 * 1024
MAX_PARQUET_ROW_GROUP = 512 * 1024 * 1024


class PreviewError(ValueError):
    """The file cannot be previewed (malformed, hostile, or past a bound); the message says why."""


def preview_format(path: str) -> PreviewFormat | None:
    lowered = path.lower()
    for suffix, fmt in ((".csv", "csv"), (".tsv", "tsv"), (".jsonl", "jsonl"), (".ndjson", "jsonl"),
                        (".parquet", "parquet")):
        if lowered.endswith(suffix):
            return fmt  # type: ignore[return-value]
    return None


@dataclass
class Column:
    name: str
    type: str  # "int64", "float64", "bool", "string", "list", "struct", "null" (all empty), or Arrow's


@dataclass
class Preview:
    format: str
    columns: list[Column] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)  # display strings, len(columns) each
    row_count: int | None = None  # None when not counted
    columns_total: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preview:
        return cls(format=str(data["format"]), columns=[Column(**c) for c in data["columns"]],
                   rows=[list(r) for r in data["rows"]], row_count=data.get("row_count"),
                   columns_total=int(data.get("columns_total", 0)))


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False, default=str)
    else:
        text = str(value)
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"


def _scalar_type(value: str) -> str:
    """A CSV cell's type, read as the Hub's viewer (via pandas/Arrow) would infer it."""
    if value == "":
        return "null"
    lowered = value.lower()
    if lowered in ("true", "false"):
        return "bool"
    try:
        int(value)
        return "int64"
    except ValueError:
        pass
    try:
        float(value)
        return "float64"
    except ValueError:
        return "string"


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "struct"


def _merge(a: str, b: str) -> str:
    """The column type holding both: null gives way, int widens to float, else string."""
    if a == b or b == "null":
        return a
    if a == "null":
        return b
    if {a, b} == {"int64", "float64"}:
        return "float64"
    return "string"


def _lines(f: BinaryIO) -> Iterator[bytes]:
    """Lines of a binary stream, each at most MAX_LINE_BYTES (PreviewError past it)."""
    while True:
        line = f.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            raise PreviewError(f"a line is longer than {MAX_LINE_BYTES // 1_000_000} MB")
        yield line


def _text_lines(f: BinaryIO) -> Iterator[str]:
    """Decoded lines for csv.reader, each record bounded by `_lines` (the csv module alone
    would grow a quoted field without end)."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    first = True
    for line in _lines(f):
        text = decoder.decode(line)
        if first:
            text = text.lstrip("\ufeff")  # a byte-order mark is not part of the header
            first = False
        yield text


def preview_csv(f: BinaryIO, *, delimiter: str = ",", count_rows: bool = True, fmt: str = "csv") -> Preview:
    """Header and first MAX_ROWS records; with `count_rows`, the records of the whole file
    (streamed, quoted newlines counted right)."""
    csv.field_size_limit(MAX_LINE_BYTES)
    reader = csv.reader(_text_lines(f), delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is None:
            return Preview(format=fmt, row_count=0)
        names = header[:MAX_COLUMNS]
        types = ["null"] * len(names)
        rows: list[list[str]] = []
        count = 0
        for record in reader:
            if not record:
                continue  # blank line
            count += 1
            if len(rows) < MAX_ROWS:
                cells = (record + [""] * len(names))[: len(names)]
                for i, value in enumerate(cells):
                    types[i] = _merge(types[i], _scalar_type(value))
                rows.append([_cell(v) for v in cells])
            elif not count_rows:
                count = -1
                break
    except csv.Error as exc:
        raise PreviewError(f"not a valid {fmt.upper()} file: {exc}") from None
    columns = [Column(name=_cell(n) or f"column {i + 1}", type=t if t != "null" else "string")
               for i, (n, t) in enumerate(zip(names, types, strict=True))]
    return Preview(format=fmt, columns=columns, rows=rows, row_count=count if count >= 0 else None,
                   columns_total=len(header))


def preview_jsonl(f: BinaryIO, *, count_rows: bool = True) -> Preview:
    """Columns are the keys of the first rows' objects (in order of appearance)."""
    names: dict[str, str] = {}
    objects: list[dict[str, Any]] = []
    count = 0
    lines = _lines(f)
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        count += 1
        if len(objects) >= MAX_ROWS:
            if not count_rows:
                return _jsonl_preview(names, objects, None)
            continue
        try:
            value = json.loads(line)
        except (ValueError, RecursionError) as exc:
            raise PreviewError(f"line {number} is not JSON: {str(exc)[:200]}") from None
        if not isinstance(value, dict):
            value = {"value": value}
        for key, item in value.items():
            if key in names:
                names[key] = _merge(names[key], _json_type(item))
            elif len(names) < MAX_COLUMNS:
                names[key] = _json_type(item)
        objects.append(value)
    return _jsonl_preview(names, objects, count)


def _jsonl_preview(names: dict[str, str], objects: list[dict[str, Any]], count: int | None) -> Preview:
    columns = [Column(name=_cell(k), type=t if t != "null" else "string") for k, t in names.items()]
    rows = [[_cell(obj.get(k)) for k in names] for obj in objects]
    return Preview(format="jsonl", columns=columns, rows=rows, row_count=count, columns_total=len(names))


def _open_parquet(f: BinaryIO) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    size = f.seek(0, io.SEEK_END)
    if size < 12:
        raise PreviewError("too short to be a Parquet file")
    f.seek(0)
    head = f.read(4)
    f.seek(size - 8)
    tail = f.read(8)
    f.seek(0)
    if head != b"PAR1" or tail[4:] != b"PAR1":
        raise PreviewError("not a Parquet file (no PAR1 magic)")
    footer = int.from_bytes(tail[:4], "little")
    if footer > MAX_PARQUET_FOOTER or footer > size - 12:
        raise PreviewError(f"the Parquet footer ({footer} bytes) is out of bounds")
    try:
        return pq.ParquetFile(f, thrift_string_size_limit=MAX_PARQUET_FOOTER,
                              thrift_container_size_limit=1_000_000)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise PreviewError(f"unreadable Parquet metadata: {str(exc)[:200]}") from None


def preview_parquet(f: BinaryIO) -> Preview:
    """Row count and types from the footer; rows from the first batch of the first row group."""
    import pyarrow as pa

    parquet = _open_parquet(f)
    meta = parquet.metadata
    schema = parquet.schema_arrow
    names = schema.names[:MAX_COLUMNS]
    columns = [Column(name=_cell(n), type=str(schema.field(n).type)) for n in names]
    rows: list[list[str]] = []
    if meta.num_row_groups and meta.num_rows:
        declared = meta.row_group(0).total_byte_size
        if declared > MAX_PARQUET_ROW_GROUP:
            raise PreviewError(f"the first row group declares {declared} bytes (limit {MAX_PARQUET_ROW_GROUP})")
        try:
            batch = next(parquet.iter_batches(batch_size=MAX_ROWS, row_groups=[0], columns=names), None)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise PreviewError(f"unreadable Parquet data: {str(exc)[:200]}") from None
        if batch is not None:
            data = batch.to_pydict()
            rows = [[_cell(data[n][i]) for n in names] for i in range(batch.num_rows)]
    return Preview(format="parquet", columns=columns, rows=rows, row_count=meta.num_rows,
                   columns_total=len(schema.names))


def preview(f: BinaryIO, fmt: PreviewFormat, *, count_rows: bool = True) -> Preview:
    """The preview of `f` read as `fmt` (PreviewError when it cannot be read as such)."""
    if fmt == "parquet":
        return preview_parquet(f)
    if fmt == "jsonl":
        return preview_jsonl(f, count_rows=count_rows)
    return preview_csv(f, delimiter="\t" if fmt == "tsv" else ",", count_rows=count_rows, fmt=fmt)
