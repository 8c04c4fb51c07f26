"""Personal data in datasets (CSV, JSON Lines, Parquet): which columns hold what, how much.

Streams the file (CSV records, JSONL lines, Parquet record batches), bounded by rows, bytes
and time (`PersonalDataLimits`), runs `safety.entities.EntityDetector` on every text cell, and
reports per column: values scanned, values with findings, span counts per entity type, and a
few *masked* examples. Person names cannot be recognised offline: the report says so in
`unsupported` and lists columns whose names suggest people in `hints`.

Columns are CSV header names, JSON key paths (`user.email`, `contacts[]`), or Parquet column
names (string and integer columns; others are listed in `problems` as not scanned).
A bound reached ends the scan with `complete=False` and `stopped_by` naming it; malformed
input becomes `problems` entries or a `stopped_by="error: ..."`, never an exception.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from safety.budget import Budget, Clock, LimitExceeded
from safety.entities import UNSUPPORTED, EntityDetector, column_hints
from safety.masking import mask_entity
from safety.tabular.csv_records import CsvTooLarge, read_records
from safety.tabular.formats import DatasetFormat, Metered
from safety.tabular.json_tokens import JsonSyntaxError, JsonTooDeep, tokens
from safety.tabular.parquet_source import ParquetRefused, open_parquet

_MAX_PROBLEMS = 20


@dataclass(frozen=True)
class PersonalDataLimits:
    max_rows: int = 100_000
    max_bytes: int = 1 << 30
    max_seconds: float = 300.0
    max_cell_chars: int = 1 << 16  # longer cells are scanned up to this many characters
    max_columns: int = 2_000
    max_record_chars: int = 1 << 22  # one CSV record / JSONL line
    max_json_depth: int = 64
    max_parquet_footer_bytes: int = 64 << 20
    max_row_group_bytes: int = 1 << 30
    batch_rows: int = 2_048
    examples_per_entity: int = 3


@dataclass
class ColumnFindings:
    column: str
    hints: tuple[str, ...] = ()
    values_scanned: int = 0
    values_with_findings: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"column": self.column, "hints": list(self.hints), "valuesScanned": self.values_scanned,
                "valuesWithFindings": self.values_with_findings, "counts": dict(self.counts),
                "examples": {k: list(v) for k, v in self.examples.items()}}


@dataclass(frozen=True)
class PersonalDataReport:
    format: str
    rows_scanned: int
    complete: bool
    stopped_by: str | None
    columns: tuple[ColumnFindings, ...]
    entities_checked: tuple[str, ...]
    unsupported: dict[str, str]
    problems: tuple[str, ...] = ()

    @property
    def totals(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for column in self.columns:
            for entity, count in column.counts.items():
                totals[entity] = totals.get(entity, 0) + count
        return totals

    @property
    def found(self) -> bool:
        return any(c.values_with_findings for c in self.columns)

    def column(self, name: str) -> ColumnFindings | None:
        return next((c for c in self.columns if c.column == name), None)

    def as_dict(self) -> dict[str, Any]:
        return {"format": self.format, "rowsScanned": self.rows_scanned, "complete": self.complete,
                "stoppedBy": self.stopped_by, "totals": self.totals, "entitiesChecked": list(self.entities_checked),
                "unsupported": dict(self.unsupported), "problems": list(self.problems),
                "columns": [c.as_dict() for c in self.columns]}


def scan_dataset(fileobj: Any, *, format: DatasetFormat, detector: EntityDetector,
                 limits: PersonalDataLimits = PersonalDataLimits(),
                 clock: Clock = time.monotonic) -> PersonalDataReport:
    """Scan a binary dataset stream (Parquet needs a seekable file). Never raises for bad
    input; see the module docstring."""
    budget = Budget(max_bytes=limits.max_bytes, max_seconds=limits.max_seconds, clock=clock)
    state = _ScanState(detector, limits)
    stopped_by: str | None = None
    try:
        metered = Metered(fileobj, budget)
        if format in ("csv", "tsv"):
            cells = _csv_cells(io.BufferedReader(metered, 1 << 16), "\t" if format == "tsv" else ",", limits, state)
        elif format == "jsonl":
            cells = _jsonl_cells(io.BufferedReader(metered, 1 << 16), limits, state)
        elif format == "parquet":
            cells = _parquet_cells(metered, limits, state)
        else:
            raise ValueError(f"unknown dataset format {format!r}")
        for column, text in cells:
            budget.check_time()
            state.add(column, text)
    except _RowLimit:
        stopped_by = "max_rows"
    except LimitExceeded as exc:
        stopped_by = exc.limit
    except (CsvTooLarge, ParquetRefused) as exc:
        stopped_by = f"error: {exc}"
    except Exception as exc:  # noqa: BLE001 - a scan failure is a result, never an exception
        stopped_by = f"error: {type(exc).__name__}: {exc}"[:300]
    return PersonalDataReport(
        format=format, rows_scanned=state.rows, complete=stopped_by is None, stopped_by=stopped_by,
        columns=tuple(state.columns.values()), entities_checked=detector.entities, unsupported=dict(UNSUPPORTED),
        problems=tuple(state.problems))


class _RowLimit(Exception):
    pass


class _ScanState:
    def __init__(self, detector: EntityDetector, limits: PersonalDataLimits) -> None:
        self.detector = detector
        self.limits = limits
        self.columns: dict[str, ColumnFindings] = {}
        self.hints: dict[str, frozenset[str]] = {}
        self.problems: list[str] = []
        self.rows = 0

    def row(self) -> None:
        if self.rows >= self.limits.max_rows:
            raise _RowLimit
        self.rows += 1

    def problem(self, text: str) -> None:
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(text)

    def column_state(self, column: str) -> ColumnFindings:
        found = self.columns.get(column)
        if found is None:
            if len(self.columns) >= self.limits.max_columns:
                raise LimitExceeded("max_columns", f"more than {self.limits.max_columns} columns")
            hints = column_hints(column)
            self.hints[column] = hints
            found = self.columns[column] = ColumnFindings(column=column, hints=tuple(sorted(hints)))
        return found

    def add(self, column: str, text: str) -> None:
        findings = self.column_state(column)
        findings.values_scanned += 1
        if not text:
            return
        spans = self.detector.find(text[:self.limits.max_cell_chars], hints=self.hints[column])
        if not spans:
            return
        findings.values_with_findings += 1
        for span in spans:
            findings.counts[span.entity] = findings.counts.get(span.entity, 0) + 1
            examples = findings.examples.setdefault(span.entity, [])
            if len(examples) < self.limits.examples_per_entity:
                examples.append(mask_entity(span.entity, text[span.start:span.end]))


def _header_names(values: list[str]) -> list[str]:
    names: list[str] = []
    for index, value in enumerate(values):
        name = value.lstrip("\ufeff").strip() or f"column_{index + 1}"
        while name in names:
            name += "_"
        names.append(name)
    return names


def _csv_cells(fileobj: Any, delimiter: str, limits: PersonalDataLimits,
               state: _ScanState) -> Iterator[tuple[str, str]]:
    header: list[str] | None = None
    for record in read_records(fileobj, delimiter=delimiter, max_record_chars=limits.max_record_chars):
        values = [f.value for f in record.fields]
        if header is None:
            header = _header_names(values)
            continue
        if not values or (values == [""] and not record.terminator):
            continue  # blank lines
        state.row()
        if len(values) != len(header):
            state.problem(f"line {record.line}: {len(values)} fields, the header has {len(header)}")
        for index, value in enumerate(values):
            yield (header[index] if index < len(header) else f"column_{index + 1}"), value


def _jsonl_cells(fileobj: Any, limits: PersonalDataLimits, state: _ScanState) -> Iterator[tuple[str, str]]:
    line_no = 0
    while True:
        raw = fileobj.readline(limits.max_record_chars + 1)
        if not raw:
            return
        line_no += 1
        if len(raw) > limits.max_record_chars:
            raise LimitExceeded("max_record_chars", f"line {line_no} is longer than {limits.max_record_chars} bytes")
        text = raw.decode("utf-8", "surrogateescape").rstrip("\r\n")
        if not text.strip():
            continue
        state.row()
        try:
            scalars = list(tokens(text, max_depth=limits.max_json_depth))
            json.loads(text)
        except (JsonSyntaxError, JsonTooDeep, ValueError) as exc:
            # Unparseable lines are still scanned, as text: broken JSON can hold an address.
            state.problem(f"line {line_no}: not valid JSON ({type(exc).__name__})")
            yield "$raw", text
            continue
        for scalar in scalars:
            yield scalar.path, scalar.value


def _parquet_cells(fileobj: Any, limits: PersonalDataLimits, state: _ScanState) -> Iterator[tuple[str, str]]:
    import pyarrow as pa

    parquet = open_parquet(fileobj, max_footer_bytes=limits.max_parquet_footer_bytes,
                           max_row_group_bytes=limits.max_row_group_bytes, max_columns=limits.max_columns)
    schema = parquet.schema_arrow
    columns = []
    for item in schema:
        if pa.types.is_string(item.type) or pa.types.is_large_string(item.type) or pa.types.is_integer(item.type) \
                or (pa.types.is_dictionary(item.type) and pa.types.is_string(item.type.value_type)):
            columns.append(item.name)
        else:
            state.problem(f"column {item.name!r} of type {item.type} is not scanned")
    if not columns:
        return
    for batch in parquet.iter_batches(batch_size=limits.batch_rows, columns=columns):
        values = {name: batch.column(name).to_pylist() for name in columns}
        for row in range(batch.num_rows):
            state.row()
            for name in columns:
                value = values[name][row]
                if value is not None:
                    yield name, str(value)
