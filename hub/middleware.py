"""Edge translation of domain errors for the non-DRF views (resolve, git, LFS, HTML)."""
from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from hub.errors_http import hub_error_response
from hub.exceptions import HubError


class HubErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, HubError):
            if is_machine_route(request.path):
                return hub_error_response(exception, request)
            # Browsers get the site's own error page; a hidden repo shows the same 404 page
            # as a missing one.
            from django.shortcuts import render

            return render(request, "error.html", {"status": exception.status, "message": exception.message},
                          status=exception.status)
        return None


# Routes spoken by clients (JSON errors with HF headers) rather than browsers: the API, the
# signed LFS upload URL, and repo-relative git / LFS / resolve endpoints (anchored on the
# repo id so that an HTML page of a folder named "info" or "resolve" stays HTML).
_MACHINE_ROUTE = re.compile(
    r"^/(?:api/|lfs-upload/|(?:(?:datasets|spaces)/)?[\w.\-]+/[\w.\-]+?(?:\.git)?/"
    r"(?:resolve/|info/refs$|info/lfs/|git-upload-pack$|git-receive-pack$))"
)


def is_machine_route(path: str) -> bool:
    return bool(_MACHINE_ROUTE.match(path))
