"""The scalar values of one JSON text with their exact spans, so a redacted copy can replace
one string literal and leave every other byte of the line as it was.

`tokens(text)` walks the JSON iteratively (an explicit stack, depth-bounded, so a line of
100 000 `[` costs nothing and raises `JsonTooDeep` instead of a RecursionError) and yields
each string value and number with its path (object keys joined by ".", arrays as "[]"), and
each object key (`is_key`, path ending in "{}": keys can be data too, e.g. a dict keyed by
email). Validity is checked by the caller with `json.loads` *after* the depth check.
"""

from __future__ import annotations

import json.decoder
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

# The decoder's own string scanner (C-accelerated), public in practice but not in the stubs.
scanstring: Callable[[str, int, bool], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]

_WS = " \t\r\n"
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_LITERALS = ("true", "false", "null")


class JsonTooDeep(Exception):
    pass


class JsonSyntaxError(Exception):
    pass


@dataclass(frozen=True)
class JsonScalar:
    path: str
    start: int  # span of the token in the text, quotes included for strings
    end: int
    value: str  # the decoded string, or the number as written
    is_string: bool
    is_key: bool = False


def tokens(text: str, *, max_depth: int = 64) -> Iterator[JsonScalar]:
    # Each open container: [is_object, current key (objects), expecting a key (objects)]
    stack: list[list[object]] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in _WS or ch == ",":
            if ch == "," and stack and stack[-1][0]:
                stack[-1][2] = True
            i += 1
        elif ch == ":":
            if not stack or not stack[-1][0]:
                raise JsonSyntaxError(f"unexpected ':' at {i}")
            stack[-1][2] = False
            i += 1
        elif ch in "{[":
            if len(stack) >= max_depth:
                raise JsonTooDeep(f"nested deeper than {max_depth}")
            stack.append([ch == "{", None, ch == "{"])
            i += 1
        elif ch in "}]":
            if not stack:
                raise JsonSyntaxError(f"unbalanced {ch!r} at {i}")
            stack.pop()
            i += 1
        elif ch == '"':
            try:
                value, end = scanstring(text, i + 1, True)
            except ValueError as exc:
                raise JsonSyntaxError(str(exc)) from exc
            if stack and stack[-1][0] and stack[-1][2]:
                # A key of the outermost object is "{}": decided by depth, not by the parent's
                # path, which is "$" for the root and also for a key named "$".
                key_path = "{}" if len(stack) == 1 else f"{_path(stack[:-1])}.{{}}"
                yield JsonScalar(key_path, i, end, value, True, True)
                stack[-1][1] = value
            else:
                yield JsonScalar(_path(stack), i, end, value, True)
            i = end
        else:
            match = _NUMBER.match(text, i)
            if match:
                yield JsonScalar(_path(stack), i, match.end(), match.group(0), False)
                i = match.end()
                continue
            for literal in _LITERALS:
                if text.startswith(literal, i):
                    i += len(literal)
                    break
            else:
                raise JsonSyntaxError(f"unexpected character at {i}")


def _path(stack: list[list[object]]) -> str:
    parts: list[str] = []
    for is_object, key, _ in stack:
        if is_object:
            parts.append(str(key) if key is not None else "")
        else:
            parts.append("[]")
    path = ""
    for index, part in enumerate(parts):
        path = part if index == 0 else (path + part if part == "[]" else f"{path}.{part}")
    return path if stack else "$"
