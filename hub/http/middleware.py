"""Edge translation of domain errors for the plain (non-DRF) views: API, git, LFS, resolve, HTML."""
from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from hub.exceptions import HubError
from hub.http.errors import hub_error_response


class HubErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, HubError):
            return hub_error_response(exception, request)
        return None
