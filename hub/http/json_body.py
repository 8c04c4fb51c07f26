"""Bounded JSON: every JSON request body is parsed here (plain views and DRF's parser).

`json.loads` recurses once per nesting level, so `[[[[...` of a few kilobytes raises
RecursionError (a 500) and deep documents make every later walker recurse too. Bodies are
bounded in size by their readers; here in depth, after a parse that cannot crash.
"""
from __future__ import annotations

import json
from typing import Any

from hub.exceptions import BadRequest

MAX_JSON_DEPTH = 64


def json_depth(value: Any, *, limit: int = MAX_JSON_DEPTH) -> int:
    """Nesting depth of a decoded JSON value (a scalar is 0), counted iteratively; stops
    counting past `limit` (returns limit + 1)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        if depth > limit:
            return limit + 1
        deepest = max(deepest, depth)
        stack.extend((child, depth) for child in children if isinstance(child, dict | list))
    return deepest


def parse_json(data: bytes | str, *, max_depth: int = MAX_JSON_DEPTH, what: str = "The request body") -> Any:
    """Decode `data` or raise BadRequest: invalid UTF-8 or JSON, or nested deeper than `max_depth`."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise BadRequest(f"{what} is nested too deeply (at most {max_depth} levels)") from None
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(f"{what} is not valid JSON") from None
    if json_depth(value, limit=max_depth) > max_depth:
        raise BadRequest(f"{what} is nested too deeply (at most {max_depth} levels)")
    return value
