"""Site-wide answers: unknown routes and server errors, in the style of the route (JSON with HF
error headers for clients, the site's page for browsers)."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from hub.http.errors import error_response, error_style


@csrf_exempt
def api_not_found(request: HttpRequest) -> HttpResponse:
    """Unknown `/api/...` routes: JSON 404 with an error code, never an HTML page."""
    return error_response(404, f"Route {request.method} {request.path} not found", code="EndpointNotFound",
                          request=request)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    style = error_style(request.path)
    return error_response(404, "Not found" if style != "html" else "Page not found", request=request, style=style)


def server_error(request: HttpRequest) -> HttpResponse:
    style = error_style(request.path)
    return error_response(500, "Internal server error" if style != "html" else "Server error", request=request,
                          style=style)
