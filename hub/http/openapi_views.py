"""Where the OpenAPI schema is served (`/.well-known/openapi.json`, `/api/schema`) and its
browsable page (`/api/docs`): rendered on the server from the schema, so the page needs no
script or stylesheet from anywhere (CSP `script-src 'self'`, no CDN)."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from drf_spectacular.views import SpectacularJSONAPIView

from hub.http.openapi import HubSchemaGenerator, document

_VERBS = ("get", "head", "post", "put", "patch", "delete")


class ApiSchemaApi(SpectacularJSONAPIView):
    """`GET /api/schema`, `GET /.well-known/openapi.json`: the OpenAPI 3 document (JSON)."""


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    # The routes are fixed once the process has loaded its URL conf.
    return HubSchemaGenerator().get_schema(request=None, public=True)


def _sections() -> list[dict[str, Any]]:
    schema = _schema()
    groups: dict[str, list[dict[str, Any]]] = {}
    for path, item in schema.get("paths", {}).items():
        for verb in _VERBS:
            operation = item.get(verb)
            if operation is None:
                continue
            tag = (operation.get("tags") or ["api"])[0]
            groups.setdefault(tag, []).append({
                "method": verb.upper(), "path": path, "summary": operation.get("summary") or "",
                "parameters": [p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"],
                "statuses": sorted(operation.get("responses", {})),
            })
    return [{"tag": tag, "operations": ops} for tag, ops in sorted(groups.items())]


@document("GET", responses={"200": None})
def api_docs(request: HttpRequest) -> HttpResponse:
    """The API reference page: every operation of the schema, grouped."""
    return render(request, "api_docs.html", {"sections": _sections(), "info": _schema().get("info", {})})
