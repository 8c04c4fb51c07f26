"""Parsing untrusted JSON with bounded depth, size and object count, and no duplicate keys.

Safetensors headers and ``*.safetensors.index.json`` files come straight from users. Python's
``json`` has no limits of its own: nesting is bounded only by the interpreter's recursion limit
(a C-stack overflow if someone raises it), and a 100 MB document of ``[[],[],...]`` becomes
gigabytes of Python objects. So before ``json.loads`` sees the text, one linear pass over the
bytes outside of strings measures the nesting depth and counts containers and separators; the
document is refused before any object is built when either passes its limit.

Duplicate keys are refused because ``json`` silently keeps the last one: two descriptions of
one tensor would let this reader and a loader disagree about which bytes it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

# A JSON string from its opening quote: escapes are consumed as pairs, so the unrolled loop
# never backtracks, and an unterminated string runs to the end instead of failing (a failing
# match would be retried from every later quote: quadratic time on ``"\"\"\"...``).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)


class JsonRejected(ValueError):
    """The document is not acceptable JSON. ``kind`` is one of ``"encoding"``, ``"syntax"``,
    ``"depth"``, ``"items"``, ``"duplicate"``: callers map it to their own error types."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def loads_bounded(
    raw: bytes,
    *,
    max_depth: int,
    max_items: int,
    max_escapes: int = 1_000_000,
    count_pairs: Callable[[Any], int] | None = None,
) -> Any:
    """Decode ``raw`` (UTF-8 JSON, nothing else) into Python values.

    Invariants on success: nesting depth <= ``max_depth`` (``{}`` at top level is depth 1), at
    most ``max_items`` containers plus separators (an upper bound on the values built, so memory
    is proportional to ``max_items``, not to the input), at most ``max_escapes`` backslashes
    (string escapes cost the pre-scan ~0.1 us each, plain text ~1 ns a byte), and no object
    with a repeated key.

    ``count_pairs`` is a speed-up for documents of a known shape: given the parsed value it
    returns the number of keys in *some* of its objects (a lower bound of all keys). Every
    key/value pair has exactly one colon outside strings, so when that count equals the
    colons, no object lost a repeated key, and the per-object duplicate check (a Python call
    per object, ~40% of parsing a safetensors header) is skipped. Otherwise the document is
    parsed again with the check.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JsonRejected("encoding", f"not valid UTF-8: {exc.reason} at byte {exc.start}") from None
    escapes = raw.count(b"\\")
    if escapes > max_escapes:
        raise JsonRejected("items", f"too many escape sequences: {escapes} backslashes (limit {max_escapes})")
    depth, items, pairs = measure(raw)
    if depth > max_depth:
        raise JsonRejected("depth", f"nested too deeply: {depth} levels (limit {max_depth})")
    if items > max_items:
        raise JsonRejected("items", f"too many values: about {items} (limit {max_items})")
    try:
        if count_pairs is not None:
            value = json.loads(text)
            if count_pairs(value) == pairs:
                return value
        return json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise JsonRejected("syntax", f"not valid JSON: {exc.msg} at byte {exc.pos}") from None
    except _DuplicateKey as exc:
        raise JsonRejected("duplicate", f"duplicate key {brief_repr(exc.args[0])}") from None
    except ValueError as exc:
        # int() refuses integers of more than 4300 digits (CVE-2020-10735 guard).
        raise JsonRejected("syntax", f"not valid JSON: {exc}") from None
    except RecursionError:  # pragma: no cover - max_depth is far below the recursion limit
        raise JsonRejected("depth", "nested too deeply") from None


class Measure(NamedTuple):
    depth: int  # deepest bracket nesting
    items: int  # containers + commas: an upper bound on the values in the document
    pairs: int  # colons: the key/value pairs of all objects


def measure(raw: bytes) -> Measure:
    """Structure of ``raw`` outside of strings, in linear time and with memory bounded by a
    fixed block size. Brackets, commas and colons inside strings do not count. For invalid
    text the numbers are meaningless but finite; ``json.loads`` then reports the error.
    """
    if b"\\" in raw:
        # With escapes a quote may be part of a string; the regex consumes strings whole.
        # Without them (the usual header) every quote delimits one, which numpy handles below.
        raw = _STRING.sub(b'""', raw)
    structural = np.frombuffer(raw.translate(None, _NOT_STRUCTURAL), dtype=np.uint8)
    depth = peak = items = pairs = 0
    in_string = False
    for start in range(0, len(structural), _BLOCK):
        block = structural[start : start + _BLOCK]
        # Quote parity says which bytes lie inside a string: the opening quote and what follows
        # it up to (not including) the closing quote.
        inside = np.bitwise_xor.accumulate(block == _QUOTE)
        if in_string:
            np.logical_not(inside, out=inside)
        in_string = bool(inside[-1])
        outside = block[~inside]
        if outside.size:
            # Depth is the running sum of +1 (opening) and -1 (closing); its maximum is the nesting.
            running = np.cumsum(_STEP[outside], dtype=np.int64)
            peak = max(peak, depth + int(running.max()))
            depth += int(running[-1])
            items += int(np.count_nonzero(_COUNTS_AS_ITEM[outside]))
            pairs += int(np.count_nonzero(outside == _COLON))
    return Measure(peak, items, pairs)


_BLOCK = 1 << 20
_QUOTE = ord('"')
_COLON = ord(":")
_NOT_STRUCTURAL = bytes(c for c in range(256) if c not in b'"[]{},:')
_STEP = np.zeros(256, dtype=np.int8)
_STEP[list(b"[{")] = 1
_STEP[list(b"]}")] = -1
_COUNTS_AS_ITEM = np.zeros(256, dtype=bool)
_COUNTS_AS_ITEM[list(b"[{,")] = True


def brief_repr(value: object, limit: int = 80) -> str:
    """repr() for error messages, cut short: names and values come from untrusted files, and
    a message must not carry megabytes of them."""
    text = repr(value) if not isinstance(value, list) or len(value) <= 16 else f"[{len(value)} items]"
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _DuplicateKey(Exception):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return out
