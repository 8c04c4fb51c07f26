"""Cursor pagination the way huggingface_hub follows it (HF_PROTOCOL.md §2.5).

The client requests the first URL with its params, then follows `Link: <url>; rel="next"`
verbatim, adding nothing: the next URL must be absolute (on PUBLIC_URL) and carry every query
parameter of the first request. Cursors are opaque to clients (base64url JSON).
"""
from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse

from hub.exceptions import BadRequest
from hub.http.errors import header_value
from hub.http.json_body import parse_json
from hub.http.urls import public_url

CURSOR_PARAM = "cursor"
_MAX_CURSOR_LEN = 2000


def encode_cursor(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(request: HttpRequest) -> dict[str, Any] | None:
    """The request's cursor, None on a first page; BadRequest when it is not one of ours."""
    raw = request.GET.get(CURSOR_PARAM)
    if not raw:
        return None
    if len(raw) > _MAX_CURSOR_LEN:
        raise BadRequest("Invalid cursor")
    try:
        # parse_json: a cursor of base64 "[[[[..." must not recurse deeply.
        data = parse_json(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)), what="The cursor")
    except (binascii.Error, ValueError, BadRequest):
        raise BadRequest("Invalid cursor") from None
    if not isinstance(data, dict):
        raise BadRequest("Invalid cursor")
    return data


def cursor_offset(request: HttpRequest) -> int:
    """The offset held by an offset cursor (tree, commits), 0 on a first page."""
    data = decode_cursor(request)
    if data is None:
        return 0
    offset = data.get("o")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise BadRequest("Invalid cursor")
    return offset


def next_page_url(request: HttpRequest, path: str, cursor: str) -> str:
    """Absolute URL of the next page: `path` (already percent-encoded), the request's query
    parameters (repeated keys kept, in order) and the new cursor."""
    params = [(k, v) for k, values in request.GET.lists() if k != CURSOR_PARAM for v in values]
    params.append((CURSOR_PARAM, cursor))
    return f"{public_url(path)}?{urlencode(params)}"


def set_next_link(response: HttpResponse, request: HttpRequest, path: str, cursor: str | None) -> HttpResponse:
    if cursor is not None:
        response["Link"] = header_value(f'<{next_page_url(request, path, cursor)}>; rel="next"', limit=8000)
    return response
