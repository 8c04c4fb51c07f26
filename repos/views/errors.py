"""Site error pages. Machine routes get JSON with HF error headers instead."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from hub.errors_http import error_response
from hub.middleware import is_machine_route


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_machine_route(request.path):
        return error_response(404, "Not found", request=request)
    return render(request, "error.html", {"status": 404, "message": "Page not found"}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_machine_route(request.path):
        return error_response(500, "Internal server error", request=request)
    return render(request, "error.html", {"status": 500, "message": "Server error"}, status=500)
