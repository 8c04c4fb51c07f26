"""Turning a HubError (or a plain status) into the HF-shaped HTTP response."""
from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from hub.exceptions import HubError


def _header_safe(message: str) -> str:
    # Header values must be latin-1 and single-line.
    return message.replace("\r", " ").replace("\n", " ").encode("latin-1", "replace").decode("latin-1")[:1000]


def error_response(
    status: int,
    message: str,
    *,
    code: str | None = None,
    headers: dict[str, str] | None = None,
    request: HttpRequest | None = None,
) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    if code:
        response["X-Error-Code"] = code
    response["X-Error-Message"] = _header_safe(message)
    for key, value in (headers or {}).items():
        response[key] = value
    if request is not None and request.method == "HEAD":
        # Keep the length of the body a GET would have had; the body itself is dropped by
        # the server. A 0 here would make clients believe in an empty file.
        response["Content-Length"] = str(len(response.content))
    return response


def hub_error_response(exc: HubError, request: HttpRequest | None = None) -> JsonResponse:
    return error_response(exc.status, exc.message, code=exc.code, headers=exc.headers, request=request)
