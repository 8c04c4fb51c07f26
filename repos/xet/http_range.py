"""The single-range ``Range: bytes=...`` header, as the Xet routes receive it.

hf_xet always sends ``bytes=a-b`` (inclusive end) to reconstructions and fetch URLs; the reference
server also accepts ``bytes=a-`` and ``bytes=-n``, so we do too. Multiple ranges are refused:
the only client that sends them (multi-range fetching, off by default) is answered one range per
URL by this hub anyway (XET.md §3.6).
"""

from __future__ import annotations

import re

from .errors import MalformedRange, RangeNotSatisfiable

_RANGE_RE = re.compile(r"bytes=(\d{0,19})-(\d{0,19})")


def parse_range(header: str | None, *, size: int) -> tuple[int, int] | None:
    """``(start, end_exclusive)`` within a resource of ``size`` bytes, or ``None`` without header.

    The end is clamped to ``size``. A start at or past ``size`` raises ``RangeNotSatisfiable``
    (HTTP 416), except ``bytes=0-...`` on an empty resource, which is the empty range ``(0, 0)``
    (hf_xet never asks for empty files, but a 416 would be a needless failure).
    """
    if header is None:
        return None
    m = _RANGE_RE.fullmatch(header.strip())
    if m is None:
        raise MalformedRange("expected one range of the form bytes=a-b, bytes=a- or bytes=-n")
    first, last = m.group(1), m.group(2)
    if first == "" and last == "":
        raise MalformedRange("empty byte range")
    if first == "":
        suffix = int(last)
        if suffix == 0:
            raise RangeNotSatisfiable("zero-length suffix range")
        return max(0, size - suffix), size
    start = int(first)
    if last != "" and int(last) < start:
        raise MalformedRange("byte range ends before it starts")
    end = size if last == "" else int(last) + 1
    if size == 0 and start == 0:
        return 0, 0
    if start >= size:
        raise RangeNotSatisfiable(f"range starts at {start}, resource has {size} bytes")
    return start, min(end, size)


def parse_exact_range(header: str | None) -> tuple[int, int]:
    """``(start, end_exclusive)`` of a fully specified ``bytes=a-b`` header (fetch URLs).

    Fetch URLs are signed for one exact range, so open-ended forms are refused here.
    """
    if header is None:
        raise MalformedRange("a Range header is required")
    m = _RANGE_RE.fullmatch(header.strip())
    if m is None or m.group(1) == "" or m.group(2) == "":
        raise MalformedRange("expected bytes=a-b")
    start, end = int(m.group(1)), int(m.group(2)) + 1
    if end <= start:
        raise MalformedRange("byte range ends before it starts")
    return start, end


def content_range(start: int, end: int, size: int) -> str:
    """``Content-Range`` value for the half-open ``[start, end)`` of ``size`` bytes."""
    return f"bytes {start}-{end - 1}/{size}"
