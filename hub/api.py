"""The one DRF exception handler: HubError and DRF's own errors get HF error headers."""
from __future__ import annotations

from typing import Any

from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_default_handler

from hub.errors_http import _header_safe
from hub.exceptions import HubError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, HubError):
        response = Response({"error": exc.message}, status=exc.status)
        if exc.code:
            response["X-Error-Code"] = exc.code
        response["X-Error-Message"] = _header_safe(exc.message)
        for key, value in exc.headers.items():
            response[key] = value
        return response
    response = drf_default_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, drf_exceptions.APIException):
        detail = exc.detail
        if isinstance(detail, dict | list):
            message = _flatten(detail)
        else:
            message = str(detail)
        if isinstance(exc, drf_exceptions.AuthenticationFailed):
            message = "Invalid credentials in Authorization header"
        response.data = {"error": message}
        response["X-Error-Message"] = _header_safe(message)
    return response


def _flatten(detail: Any) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{k}: {_flatten(v)}" for k, v in detail.items())
    if isinstance(detail, list):
        return ", ".join(_flatten(v) for v in detail)
    return str(detail)
