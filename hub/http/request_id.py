"""`X-Request-Id` on every response: the id a user quotes when reporting a failure.

huggingface_hub puts the `X-Request-Id` of a failed response in the error message it shows
(`utils/_http.py` `_format`), so the operator can find the request in the logs. The
middleware is the outermost one: static files, Django's refusals, 404/500 pages and every
error style carry it too. A sane incoming id (a proxy's or the client's) is kept so that one
id follows the request through the proxy and the hub; anything else is replaced by a new one.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponseBase

HEADER = "X-Request-Id"
# What a proxy or client might send (uuids, hex, Amazon trace ids); bounded, no spaces or
# separators that could split a log line or a header.
_SANE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:=+\-]{0,127}$")


def request_id_for(incoming: str | None) -> str:
    """`incoming` when it looks like an id, else a fresh random one."""
    if incoming and _SANE.match(incoming):
        return incoming
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Sets `request.request_id` and the `X-Request-Id` response header (first in MIDDLEWARE)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        request_id = request_id_for(request.META.get("HTTP_X_REQUEST_ID"))
        request.request_id = request_id  # type: ignore[attr-defined]
        response = self.get_response(request)
        response[HEADER] = request_id
        return response
