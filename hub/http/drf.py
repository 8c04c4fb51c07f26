"""DRF's exception handler: HubErrors and DRF's own errors go through the one translator
(`hub.http.errors`), so API classes answer exactly like the plain API views."""
from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.views import exception_handler as drf_default_handler

from hub.exceptions import HubError
from hub.http.errors import error_response, hub_error_response

INVALID_CREDENTIALS = "Invalid credentials in Authorization header"


def exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponse | None:
    request = context.get("request")
    raw = getattr(request, "_request", request)
    if isinstance(exc, HubError):
        return hub_error_response(exc, raw, style="json")
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
