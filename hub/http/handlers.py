"""Site-wide answers: unknown routes, requests Django itself refuses, and server errors, in the
style of the route (JSON with HF error headers for clients, the site's page for browsers)."""
from __future__ import annotations

import sys

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from hub.exceptions import InsufficientStorage, out_of_space
from hub.http.errors import error_response, error_style


@csrf_exempt
def api_not_found(request: HttpRequest) -> HttpResponse:
    """Unknown `/api/...` routes: JSON 404 with an error code, never an HTML page."""
    return error_response(404, f"Route {request.method} {request.path} not found", code="EndpointNotFound",
                          request=request)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    style = error_style(request.path)
    return error_response(404, "Not found" if style != "html" else "Page not found", request=request, style=style)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Requests Django refuses before or while a view reads them (SuspiciousOperation: a body
    over DATA_UPLOAD_MAX_MEMORY_SIZE, too many form fields or files, a bad Host header)."""
    status, message = 400, "Bad request"
    if isinstance(exception, RequestDataTooBig):
        status, message = 413, "Request body too large"
    elif isinstance(exception, TooManyFieldsSent | TooManyFilesSent):
        message = "Too many fields or files in the request body"
    return error_response(status, message, request=request, style=error_style(request.path))


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(403, "You don't have the rights to perform this action", request=request,
                          style=error_style(request.path))


def server_error(request: HttpRequest) -> HttpResponse:
    style = error_style(request.path)
    # The last net for a full disk noticed outside a view (a middleware's write): Django calls
    # this handler while it handles the exception.
    exc = sys.exception()
    if exc is not None and out_of_space(exc):
        return error_response(507, InsufficientStorage.default_message, request=request, style=style)
    return error_response(500, "Internal server error" if style != "html" else "Server error", request=request,
                          style=style)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a session request without its CSRF token, answered in the route's
    style (HF error headers on the API) instead of Django's bare HTML page."""
    return error_response(403, "CSRF verification failed", request=request, style=error_style(request.path))
