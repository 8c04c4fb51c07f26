"""Plain (non-DRF) API views: method gate, CSRF for sessions, JSON responses.

Plain views serve the routes whose bodies must be streamed (commits) or whose answers are
built on the hot path (info, tree, resolve): DRF's request wrapping would buffer or cost more.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt

from hub.exceptions import Forbidden, MethodNotAllowed
from hub.http.errors import header_value
from hub.http.openapi import OperationDoc

View = Callable[..., HttpResponse]


def api_view(*methods: str) -> Callable[[View], View]:
    """CSRF-exempt (token clients send no CSRF token; `enforce_session_csrf` covers browser
    sessions on unsafe methods) and restricted to `methods`, with a JSON 405 otherwise. HEAD
    is allowed wherever GET is."""
    allowed = set(methods) | ({"HEAD"} if "GET" in methods else set())

    def decorate(view: View) -> View:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in allowed:
                raise MethodNotAllowed(str(request.method), ", ".join(sorted(allowed)))
            return view(request, *args, **kwargs)

        # In the OpenAPI schema (hub/http/openapi.py) unless the view documents itself.
        if not isinstance(getattr(wrapper, "openapi", None), OperationDoc):
            wrapper.openapi = OperationDoc(  # type: ignore[attr-defined]
                methods=tuple(sorted(m for m in allowed if m != "HEAD")),
                summary=(view.__doc__ or view.__name__).strip().split("\n", 1)[0])
        return wrapper

    return decorate


def json_response(data: Any, headers: dict[str, str] | None = None) -> JsonResponse:
    response = JsonResponse(data, safe=False, json_dumps_params={"ensure_ascii": False})
    for key, value in (headers or {}).items():
        response[key] = header_value(value, limit=8000)
    return response


def enforce_session_csrf(request: HttpRequest) -> None:
    """CSRF protection for plain views that browsers could reach with a session.

    Token-authenticated requests are exempt (no ambient credentials), as are anonymous ones
    (they can change nothing); a session-authenticated unsafe request must carry the CSRF token.
    """
    if getattr(request, "auth_token", None) is not None or not request.user.is_authenticated:
        return
    reason = CsrfViewMiddleware(lambda r: HttpResponse()).process_view(request, None, (), {})  # type: ignore[arg-type]
    if reason is not None:
        raise Forbidden("CSRF verification failed")
