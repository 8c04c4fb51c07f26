"""Edge translation of domain errors for the plain (non-DRF) views: API, git, LFS, resolve, HTML.

A full disk is a domain error too, wherever it surfaces (an OSError from a write, libgit2's
"No space left on device", SQLite's "database or disk is full"): it is answered as
InsufficientStorage (507) in the route's style instead of a 500.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from hub.exceptions import HubError, InsufficientStorage, out_of_space
from hub.http.errors import hub_error_response

logger = logging.getLogger(__name__)


def translated_error(exception: BaseException) -> HubError | None:
    """The HubError a view's exception is answered as: itself, InsufficientStorage for an
    out-of-space failure, None for anything else (a bug: the 500 handler answers)."""
    if isinstance(exception, HubError):
        return exception
    if out_of_space(exception):
        logger.warning("out of disk space: %s", exception)
        error = InsufficientStorage()
        error.__cause__ = exception
        return error
    return None


class HubErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        error = translated_error(exception)
        return hub_error_response(error, request) if error is not None else None
