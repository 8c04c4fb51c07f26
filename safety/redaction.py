"""A de-identified copy of a dataset (CSV/TSV, JSON Lines, Parquet), written as a stream.

Only detected spans change. Everything else is re-emitted exactly:
- CSV: untouched fields are written as they were in the source (quoting, doubled quotes, line
  endings, invalid UTF-8 bytes); a changed field keeps its quotes; the header is never changed.
- JSONL: a line without findings is copied byte for byte; in a line with findings only the
  affected string literals (or numbers, which become strings) are replaced, the rest of the
  line stays as written. A line that is not valid JSON is redacted as plain text, never
  skipped: a broken line can still hold an address.
- Parquet: byte identity is not possible (pages are re-encoded), so *values* are: untouched
  columns are passed through as the same Arrow arrays, string columns get new strings, and
  integer values recognised as personal data (a card number stored as int64) become null.

Modes: "mask" replaces a span with `<EMAIL_ADDRESS>`; "pseudonym" with a keyed pseudonym,
HMAC-SHA256(secret, entity + normalised value), so one address maps to one pseudonym in the
whole file (and across files of the repository that share the secret), a dictionary attack
needs the secret, and two repositories with different secrets cannot be linked (SECURITY.md
T65). Emails keep an email shape (`user-<hex>@pseudonym.invalid`, a reserved TLD).

`RedactionFailed` means the copy is incomplete and must be discarded: callers keep the raw
data private (T64). Any bound reached (bytes, time) fails the copy the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from safety.budget import Budget, Clock, LimitExceeded
from safety.entities import EMAIL, EntityDetector, EntitySpan, column_hints, normalize
from safety.tabular.csv_records import CsvTooLarge, read_records, render_field
from safety.tabular.formats import DatasetFormat, Metered
from safety.tabular.json_tokens import JsonScalar, JsonSyntaxError, JsonTooDeep, tokens
from safety.tabular.parquet_source import ParquetRefused, open_parquet

RedactionMode = Literal["mask", "pseudonym"]
MIN_SECRET_BYTES = 16


class Writable(Protocol):
    def write(self, data: bytes, /) -> int: ...


class RedactionFailed(Exception):
    """The de-identified copy is incomplete; discard it and keep the source private."""


@dataclass(frozen=True)
class RedactionLimits:
    max_bytes: int = 64 << 30
    max_seconds: float = 3_600.0
    max_record_chars: int = 1 << 22
    max_json_depth: int = 64
    max_parquet_footer_bytes: int = 64 << 20
    max_row_group_bytes: int = 1 << 30
    batch_rows: int = 4_096


@dataclass(frozen=True)
class RedactionResult:
    format: str
    mode: str
    rows: int
    rows_changed: int
    replacements: dict[str, int]
    columns_changed: tuple[str, ...]
    values_nulled: int = 0
    unparseable_lines: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"format": self.format, "mode": self.mode, "rows": self.rows, "rowsChanged": self.rows_changed,
                "replacements": dict(self.replacements), "columnsChanged": list(self.columns_changed),
                "valuesNulled": self.values_nulled, "unparseableLines": self.unparseable_lines}


class Replacer:
    """What a detected span becomes. Stateless apart from the key: safe to share."""

    def __init__(self, mode: RedactionMode, secret: bytes | None) -> None:
        if mode not in ("mask", "pseudonym"):
            raise ValueError(f"unknown redaction mode {mode!r}")
        if mode == "pseudonym" and (secret is None or len(secret) < MIN_SECRET_BYTES):
            raise ValueError(f"pseudonyms need a secret of at least {MIN_SECRET_BYTES} bytes")
        self.mode = mode
        self._secret = secret or b""

    def __call__(self, entity: str, value: str) -> str:
        if self.mode == "mask":
            return f"<{entity}>"
        digest = hmac.new(self._secret, f"{entity}\x1f{normalize(entity, value)}".encode("utf-8", "surrogatepass"),
                          hashlib.sha256).hexdigest()[:16]
        if entity == EMAIL:
            return f"user-{digest}@pseudonym.invalid"
        return f"<{entity}:{digest}>"


def redact_text(text: str, spans: Sequence[EntitySpan], replacer: Callable[[str, str], str]) -> str:
    """`text` with each (non-overlapping, sorted) span replaced."""
    out: list[str] = []
    cursor = 0
    for span in spans:
        out.append(text[cursor:span.start])
        out.append(replacer(span.entity, text[span.start:span.end]))
        cursor = span.end
    out.append(text[cursor:])
    return "".join(out)


def redact_file(src: Any, dst: Writable, *, format: DatasetFormat, mode: RedactionMode, detector: EntityDetector,
                secret: bytes | None = None, limits: RedactionLimits = RedactionLimits(),
                clock: Clock = time.monotonic) -> RedactionResult:
    """Write a de-identified copy of `src` (binary; seekable for Parquet) to `dst`."""
    replacer = Replacer(mode, secret)
    budget = Budget(max_bytes=limits.max_bytes, max_seconds=limits.max_seconds, clock=clock)
    job = _Job(detector, replacer, budget, format, mode)
    try:
        metered = Metered(src, budget)
        if format in ("csv", "tsv"):
            job.csv(io.BufferedReader(metered, 1 << 16), dst, "\t" if format == "tsv" else ",", limits)
        elif format == "jsonl":
            job.jsonl(io.BufferedReader(metered, 1 << 16), dst, limits)
        elif format == "parquet":
            job.parquet(metered, dst, limits)
        else:
            raise ValueError(f"unknown dataset format {format!r}")
    except RedactionFailed:
        raise
    except LimitExceeded as exc:
        raise RedactionFailed(f"stopped at a bound: {exc}") from exc
    except (CsvTooLarge, ParquetRefused, OSError) as exc:
        raise RedactionFailed(str(exc)) from exc
    return job.result()


class _Job:
    def __init__(self, detector: EntityDetector, replacer: Replacer, budget: Budget, fmt: str, mode: str) -> None:
        self.detector = detector
        self.replacer = replacer
        self.budget = budget
        self.format = fmt
        self.mode = mode
        self.rows = 0
        self.rows_changed = 0
        self.replacements: dict[str, int] = {}
        self.columns_changed: dict[str, None] = {}
        self.values_nulled = 0
        self.unparseable = 0
        self._hints: dict[str, frozenset[str]] = {}

    def result(self) -> RedactionResult:
        return RedactionResult(format=self.format, mode=self.mode, rows=self.rows, rows_changed=self.rows_changed,
                               replacements=dict(self.replacements), columns_changed=tuple(self.columns_changed),
                               values_nulled=self.values_nulled, unparseable_lines=self.unparseable)

    def _spans(self, column: str, text: str) -> list[EntitySpan]:
        hints = self._hints.get(column)
        if hints is None:
            hints = self._hints[column] = column_hints(column)
        spans = self.detector.find(text, hints=hints) if text else []
        if spans:
            self.columns_changed[column] = None
            for span in spans:
                self.replacements[span.entity] = self.replacements.get(span.entity, 0) + 1
        return spans

    # -- CSV ---------------------------------------------------------------------------------
    def csv(self, src: Any, dst: Writable, delimiter: str, limits: RedactionLimits) -> None:
        header: list[str] | None = None
        for record in read_records(src, delimiter=delimiter, max_record_chars=limits.max_record_chars):
            self.budget.check_time()
            if header is None:
                header = [f.value.lstrip("\ufeff").strip() or f"column_{i + 1}" for i, f in enumerate(record.fields)]
                dst.write(record.text(delimiter).encode("utf-8", "surrogateescape"))
                continue
            self.rows += 1
            parts = []
            changed = False
            for index, fld in enumerate(record.fields):
                column = header[index] if index < len(header) else f"column_{index + 1}"
                spans = self._spans(column, fld.value)
                if spans:
                    changed = True
                    parts.append(render_field(redact_text(fld.value, spans, self.replacer), was_quoted=fld.quoted,
                                              delimiter=delimiter))
                else:
                    parts.append(fld.raw)
            self.rows_changed += changed
            dst.write((delimiter.join(parts) + record.terminator).encode("utf-8", "surrogateescape"))

    # -- JSON Lines ----------------------------------------------------------------------------
    def jsonl(self, src: Any, dst: Writable, limits: RedactionLimits) -> None:
        line_no = 0
        while True:
            raw = src.readline(limits.max_record_chars + 1)
            if not raw:
                return
            line_no += 1
            if len(raw) > limits.max_record_chars:
                raise RedactionFailed(f"line {line_no} is longer than {limits.max_record_chars} bytes")
            self.budget.check_time()
            body = raw.rstrip(b"\r\n")
            ending = raw[len(body):]
            text = body.decode("utf-8", "surrogateescape")
            if text.strip():
                self.rows += 1
            new_text = self._jsonl_line(text, limits)
            if new_text is None:
                dst.write(raw)  # untouched: the very same bytes
            else:
                self.rows_changed += 1
                dst.write(new_text.encode("utf-8", "surrogateescape") + ending)

    def _jsonl_line(self, text: str, limits: RedactionLimits) -> str | None:
        if not text.strip():
            return None
        try:
            scalars: list[JsonScalar] = list(tokens(text, max_depth=limits.max_json_depth))
            json.loads(text)
        except (JsonSyntaxError, JsonTooDeep, ValueError):
            self.unparseable += 1
            spans = self._spans("$raw", text)
            return redact_text(text, spans, self.replacer) if spans else None
        edits: list[tuple[int, int, str]] = []
        for scalar in scalars:
            spans = self._spans(scalar.path, scalar.value)
            if spans:
                literal = json.dumps(redact_text(scalar.value, spans, self.replacer), ensure_ascii=False)
                edits.append((scalar.start, scalar.end, literal))
        if not edits:
            return None
        out: list[str] = []
        cursor = 0
        for start, end, literal in edits:
            out.append(text[cursor:start])
            out.append(literal)
            cursor = end
        out.append(text[cursor:])
        return "".join(out)

    # -- Parquet --------------------------------------------------------------------------------
    def parquet(self, src: Any, dst: Writable, limits: RedactionLimits) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        parquet = open_parquet(src, max_footer_bytes=limits.max_parquet_footer_bytes,
                               max_row_group_bytes=limits.max_row_group_bytes)
        schema = parquet.schema_arrow
        kinds = {item.name: _parquet_kind(pa, item) for item in schema}
        for name, kind in kinds.items():
            if kind == "nested-text":
                raise RedactionFailed(f"column {name!r}: nested types holding text are not redacted")
        metadata = parquet.metadata
        compression = "snappy"
        if metadata.num_row_groups and metadata.num_columns:
            codec = metadata.row_group(0).column(0).compression
            compression = codec.lower() if isinstance(codec, str) and codec != "UNCOMPRESSED" else "none"
        writer = pq.ParquetWriter(dst, schema, compression=compression)
        try:
            for batch in parquet.iter_batches(batch_size=limits.batch_rows):
                self.budget.check_time()
                self.rows += batch.num_rows
                changed_rows: set[int] = set()
                arrays = []
                for index, item in enumerate(schema):
                    column = batch.column(index)
                    kind = kinds[item.name]
                    if kind == "text":
                        column = self._parquet_text(pa, item, column, changed_rows)
                    elif kind == "integer":
                        column = self._parquet_integers(pa, item, column, changed_rows)
                    arrays.append(column)
                self.rows_changed += len(changed_rows)
                writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=schema))
        finally:
            writer.close()

    def _parquet_text(self, pa: Any, item: Any, column: Any, changed_rows: set[int]) -> Any:
        values = column.to_pylist()
        changed = False
        for row, value in enumerate(values):
            if value is None:
                continue
            spans = self._spans(item.name, value)
            if spans:
                values[row] = redact_text(value, spans, self.replacer)
                changed_rows.add(row)
                changed = True
        return pa.array(values, type=item.type) if changed else column

    def _parquet_integers(self, pa: Any, item: Any, column: Any, changed_rows: set[int]) -> Any:
        values = column.to_pylist()
        changed = False
        for row, value in enumerate(values):
            if value is not None and self._spans(item.name, str(value)):
                if not item.nullable:
                    raise RedactionFailed(f"column {item.name!r} holds personal data but cannot be null")
                values[row] = None
                self.values_nulled += 1
                changed_rows.add(row)
                changed = True
        return pa.array(values, type=item.type) if changed else column


def _parquet_kind(pa: Any, item: Any) -> str:
    t = item.type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or (
            pa.types.is_dictionary(t) and (pa.types.is_string(t.value_type) or pa.types.is_large_string(t.value_type))):
        return "text"
    if pa.types.is_integer(t):
        return "integer"
    if pa.types.is_nested(t) and ("string" in str(t) or "utf8" in str(t)):
        return "nested-text"
    return "other"
