"""Plumbing shared by the read API views: method gate, repo lookup, query parsing."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from hub.errors_http import error_response
from hub.exceptions import BadRequest, RepoMoved
from repos.models import Repository
from repos.models.repository import PLURAL_TO_TYPE
from repos.permissions import Action, get_repo_or_404, request_principal

View = Callable[..., HttpResponse]


def api_view(*methods: str) -> Callable[[View], View]:
    """CSRF-exempt (token clients send no CSRF token) and restricted to `methods`, with a
    JSON 405 otherwise. HEAD is allowed wherever GET is."""
    allowed = set(methods) | ({"HEAD"} if "GET" in methods else set())

    def decorate(view: View) -> View:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in allowed:
                response = error_response(405, f"Method {request.method} not allowed", request=request)
                response["Allow"] = ", ".join(sorted(allowed))
                return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def repo_for(request: HttpRequest, *, plural: str, namespace: str, name: str, action: Action = "read") -> Repository:
    """The repository named in the URL, authorized for `action` (hidden == missing).

    A moved repository's old name answers reads with a relative 307 to the same URL under
    its new name (clients follow redirects on API GETs), as `/resolve/` does.
    """
    user, token = request_principal(request)
    repo = get_repo_or_404(user, repo_type=PLURAL_TO_TYPE[plural], namespace=namespace, name=name, action=action,
                           token=token)
    if (repo.namespace, repo.name) != (namespace, name) and request.method in ("GET", "HEAD"):
        old, new = f"/api/{plural}/{namespace}/{name}", f"/api/{plural}/{repo.namespace}/{repo.name}"
        raise RepoMoved(headers={"Location": new + request.get_full_path()[len(old):]})
    return repo


def query_list(request: HttpRequest, key: str) -> list[str]:
    """Repeated query values, accepting both `key=` and the `key[]=` spelling."""
    return [v for v in request.GET.getlist(key) + request.GET.getlist(f"{key}[]") if v != ""]


def query_int(request: HttpRequest, key: str, *, default: int, minimum: int, maximum: int) -> int:
    raw = request.GET.get(key)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"Invalid {key}: {raw!r}") from None
    return max(minimum, min(value, maximum))


def json_response(data: Any, headers: dict[str, str] | None = None) -> JsonResponse:
    response = JsonResponse(data, safe=False, json_dumps_params={"ensure_ascii": False})
    for key, value in (headers or {}).items():
        response[key] = value
    return response
