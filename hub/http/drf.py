"""DRF glue: the exception handler and the JSON parser of every API class.

* `exception_handler`: HubErrors and DRF's own errors go through the one translator
  (`hub.http.errors`), so API classes answer exactly like the plain API views.
* `BoundedJSONParser`: DRF's JSONParser recurses once per nesting level (a few kilobytes of
  `[[[[` raise RecursionError, a 500); this one decodes with `hub.http.json_body.parse_json`
  (bounded in depth) a body bounded in size (DATA_UPLOAD_MAX_MEMORY_SIZE, 413 beyond).
"""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.parsers import JSONParser, get_encoding
from rest_framework.views import exception_handler as drf_default_handler

from hub.exceptions import BadRequest, PayloadTooLarge
from hub.http.errors import error_response, hub_error_response
from hub.http.json_body import parse_json
from hub.http.middleware import translated_error

INVALID_CREDENTIALS = "Invalid credentials in Authorization header"


def exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponse | None:
    request = context.get("request")
    raw = getattr(request, "_request", request)
    error = translated_error(exc)
    if error is not None:
        return hub_error_response(error, raw, style="json")
    response = drf_default_handler(exc, context)
    if response is None or not isinstance(exc, drf_exceptions.APIException):
        return response
    detail = exc.detail
    message = _flatten(detail) if isinstance(detail, dict | list) else str(detail)
    if isinstance(exc, drf_exceptions.AuthenticationFailed):
        message = INVALID_CREDENTIALS
    # DRF's own headers (WWW-Authenticate, Allow, Retry-After) are kept.
    headers = {k: v for k, v in response.items() if k.lower() not in ("content-type", "vary")}
    return error_response(response.status_code, message, headers=headers, request=raw, style="json")


def _flatten(detail: Any) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{k}: {_flatten(v)}" for k, v in detail.items())
    if isinstance(detail, list):
        return ", ".join(_flatten(v) for v in detail)
    return str(detail)


class BoundedJSONParser(JSONParser):
    """`application/json` bodies through `parse_json`: at most DATA_UPLOAD_MAX_MEMORY_SIZE
    bytes (413), nested at most `MAX_JSON_DEPTH` levels, valid in the declared charset (400)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = get_encoding(parser_context or {})
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        # DRF hands JSON parsers `request.body` (already bounded by Django); a raw stream is
        # bounded here too.
        data = stream.read(limit + 1) if limit is not None else stream.read()
        if limit is not None and len(data) > limit:
            raise PayloadTooLarge("Request body too large")
        if encoding.lower().replace("-", "").replace("_", "") != "utf8":
            try:
                data = data.decode(encoding)
            except (UnicodeDecodeError, LookupError):
                raise BadRequest(f"The request body is not valid {encoding}") from None
        return parse_json(data)
