"""CSV records with every field's exact source text, so a redacted copy can re-emit untouched
fields byte for byte (quoting, doubled quotes, line endings included).

Python's `csv` module gives values, not their spelling. Here a record is read as physical
lines until its quotes balance (a quoted field may hold newlines), then split into fields;
each field keeps `raw` (as written) and `value` (what `csv` would return). Decoding uses
UTF-8 with `surrogateescape`, so any byte sequence round-trips unchanged.

Bounds: a record longer than `max_record_chars` raises `CsvTooLarge` (an unbalanced quote
would otherwise swallow the rest of the file).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


class CsvTooLarge(Exception):
    """A record exceeds the configured size (usually an unbalanced quote)."""


@dataclass(frozen=True)
class CsvField:
    raw: str
    value: str
    quoted: bool


@dataclass(frozen=True)
class CsvRecord:
    fields: tuple[CsvField, ...]
    terminator: str  # "\r\n", "\n", "\r" or "" at end of file
    line: int  # 1-based physical line where the record starts

    def text(self, delimiter: str = ",") -> str:
        return delimiter.join(f.raw for f in self.fields) + self.terminator


def read_records(fileobj: Any, *, delimiter: str = ",", quote: str = '"',
                 max_record_chars: int = 1 << 20) -> Iterator[CsvRecord]:
    """Records of a binary CSV stream, in order. The stream is not closed."""
    if len(delimiter) != 1 or len(quote) != 1:
        raise ValueError("delimiter and quote must be single characters")
    text = io.TextIOWrapper(fileobj, encoding="utf-8", errors="surrogateescape", newline="")
    try:
        line_no = 1
        while True:
            physical = text.readline(max_record_chars + 1)
            if not physical:
                return
            start_line = line_no
            line_no += 1
            record = physical
            while True:
                if len(record) > max_record_chars:
                    raise CsvTooLarge(f"record at line {start_line} is longer than {max_record_chars} characters")
                body, terminator = _split_terminator(record)
                fields, open_from = _scan_fields(body, delimiter, quote)
                if open_from is None:
                    break
                # Inside a quoted field that spans lines: its quotes pair up ("" is one quote)
                # until the closing one, so read lines until the count after it turns odd.
                pending = record[open_from + 1:].count(quote)
                parts = [record]
                size = len(record)
                while pending % 2 == 0 and size <= max_record_chars:
                    more = text.readline(max_record_chars + 1)
                    if not more:
                        break
                    parts.append(more)
                    pending += more.count(quote)
                    size += len(more)
                    line_no += 1
                if len(parts) == 1:  # end of file inside the quotes: csv keeps the rest as the value
                    fields, _ = _scan_fields(record, delimiter, quote)
                    terminator = ""
                    break
                record = "".join(parts)
            if body == "" and terminator:
                fields = []  # an empty line is a record without fields, as csv.reader has it
            yield CsvRecord(fields=tuple(fields), terminator=terminator, line=start_line)
    finally:
        text.detach()  # leave the caller's file open


def _split_terminator(record: str) -> tuple[str, str]:
    if record.endswith("\r\n"):
        return record[:-2], "\r\n"
    if record.endswith(("\n", "\r")):
        return record[:-1], record[-1]
    return record, ""


_QUOTED_CACHE: dict[tuple[str, str], re.Pattern[str]] = {}


def split_fields(body: str, delimiter: str = ",", quote: str = '"') -> list[CsvField]:
    """Fields of one record (without its terminator), like `csv.reader` in its default
    (non-strict) dialect: a field starting with a quote runs to the matching quote (doubled
    quotes are one) and anything after it up to the delimiter is kept; quotes elsewhere are
    literal."""
    return _scan_fields(body, delimiter, quote)[0]


def _scan_fields(body: str, delimiter: str, quote: str) -> tuple[list[CsvField], int | None]:
    """The fields, and where an unterminated quoted field starts (None if all are closed)."""
    if quote not in body:
        return [CsvField(raw=part, value=part, quoted=False) for part in body.split(delimiter)], None
    key = (delimiter, quote)
    pattern = _QUOTED_CACHE.get(key)
    if pattern is None:
        q = re.escape(quote)
        # Possessive: once a doubled quote is taken it stays taken, so `"""` is an open field
        # (an escaped quote, not yet closed) rather than `""` followed by a stray quote.
        pattern = re.compile(f"{q}((?:[^{q}]|{q}{q})*+){q}")
        _QUOTED_CACHE[key] = pattern
    fields: list[CsvField] = []
    pos = 0
    n = len(body)
    while True:
        if pos < n and body[pos] == quote:
            match = pattern.match(body, pos)
            if match is None:
                value = body[pos + 1:].replace(quote * 2, quote)
                fields.append(CsvField(raw=body[pos:], value=value, quoted=True))
                return fields, pos
            value = match.group(1).replace(quote * 2, quote)
            end = match.end()
            stop = body.find(delimiter, end)
            stop = n if stop < 0 else stop
            fields.append(CsvField(raw=body[pos:stop], value=value + body[end:stop], quoted=True))
        else:
            stop = body.find(delimiter, pos)
            stop = n if stop < 0 else stop
            fields.append(CsvField(raw=body[pos:stop], value=body[pos:stop], quoted=False))
        if stop >= n:
            return fields, None
        pos = stop + 1


def render_field(value: str, *, was_quoted: bool, delimiter: str = ",", quote: str = '"') -> str:
    """A changed field as CSV text: quoted if it was, or if its new value needs it."""
    needs = was_quoted or any(ch in value for ch in (delimiter, quote, "\r", "\n"))
    return quote + value.replace(quote, quote * 2) + quote if needs else value
