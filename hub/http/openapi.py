"""The published OpenAPI 3 schema of every endpoint the hub serves to clients (drf-spectacular).

`/.well-known/openapi.json` and `/api/schema` serve it; `/api/docs` renders it as a page.
"Every endpoint" = every route of the URL resolver that clients (not browsers) speak:
`/api/...` and the transport routes (git smart HTTP, Git LFS, `/resolve/`, the Xet CAS).
tests/hub/test_openapi.py walks the resolver and fails for a route missing here.

How a route gets into the schema:

* DRF `APIView`s are introspected by drf-spectacular (its `AutoSchema`; `@extend_schema`
  refines them) - nothing to do;
* plain function views carry an `OperationDoc` in `view.openapi`: `hub.http.api.api_view`
  attaches one (methods, and the docstring's first line as summary); other plain views use
  `@document(...)` below (methods, error style, response schemas).

Paths come from the route regexes, written once in the URL confs: named groups become path
parameters (an alternation of words becomes an enum, anything else a pattern) and optional
parts (`(?:\\.git)?`, the `datasets/` prefix) expand into one path per variant. Every
operation documents its 4XX answer in the route's error style (hub/http/errors.py).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import EndpointEnumerator, SchemaGenerator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.settings import spectacular_settings

from hub.http.errors import ErrorStyle

Schema = dict[str, Any]

ERROR_JSON: Schema = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
ERROR_LFS: Schema = {"type": "object", "required": ["message"], "properties": {"message": {"type": "string"}}}
LFS_MEDIA = "application/vnd.git-lfs+json"
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")


class HubAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, quiet about our plain `APIView`s: most parse their input
    with a nested serializer (`hub.http.inputs.validated_input`) and answer HF-shaped JSON, so
    there is no view-level serializer to guess. Such an operation is documented by path,
    method and parameters (refine it with `@extend_schema`) instead of a warning, which
    `check --deploy --fail-level WARNING` (CI, README "HTTPS deployment") treats as a failure."""

    def _get_serializer(self) -> Any:
        view = self.view
        plain = not any(hasattr(view, attr) for attr in ("get_serializer", "get_serializer_class", "serializer_class"))
        return None if plain else super()._get_serializer()


@dataclass(frozen=True)
class OperationDoc:
    """What the schema says about a plain view: its methods, a summary, the style of its
    errors, JSON schemas of its answers by status (`"200"`, `"4XX"`...), query parameters,
    and the media type of a request body (None: no body is documented)."""

    methods: tuple[str, ...]
    summary: str = ""
    style: ErrorStyle = "json"
    responses: dict[str, Schema | None] = field(default_factory=dict)
    query: tuple[str, ...] = ()
    body: str | None = None


def document(*methods: str, summary: str = "", style: ErrorStyle = "json",
             responses: dict[str, Schema | None] | None = None, query: tuple[str, ...] = (),
             body: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Put a plain (non-DRF) view into the OpenAPI schema: `@document("GET", "POST", ...)`."""
    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        view.openapi = OperationDoc(  # type: ignore[attr-defined]
            methods=tuple(m.upper() for m in methods), summary=summary or _first_line(view.__doc__),
            style=style, responses=dict(responses or {}), query=query, body=body)
        return view
    return decorate


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().split("\n", 1)[0].strip()


# --------------------------------------------------------------------------- routes


@dataclass(frozen=True)
class Route:
    regex: str  # the full regex, include prefixes joined (as tests/repos/gate/route_rules.py keys)
    callback: Callable[..., Any]


def iter_routes(patterns: list[Any] | None = None, prefix: str = "") -> Iterator[Route]:
    for p in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(p, URLResolver):
            yield from iter_routes(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield Route(prefix + str(p.pattern), p.callback)


def is_client_route(route: Route) -> bool:
    """Routes spoken by clients: the API (but its catch-all 404) and the transport routes."""
    module = getattr(route.callback, "__module__", "")
    if route.regex == "^api/":
        return False
    return route.regex.startswith("api/") or module.startswith("repos.transport.")


def is_documented(route: Route) -> bool:
    return hasattr(route.callback, "cls") or isinstance(getattr(route.callback, "openapi", None), OperationDoc)


# --------------------------------------------------------------------------- regex -> paths

_WORDS = re.compile(r"^[\w.\-]+(?:\|[\w.\-]+)*$")


def _closing(s: str, i: int) -> int:
    """Index of the ")" closing the group opened at s[i]."""
    depth, j, in_class = 0, i, False
    while j < len(s):
        c = s[j]
        if c == "\\":
            j += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return j
        j += 1
    raise ValueError(f"unbalanced group in {s!r}")


def _variants(s: str) -> list[tuple[str, dict[str, str]]]:
    out: list[tuple[str, dict[str, str]]] = [("", {})]
    i = 0
    while i < len(s):
        piece: list[tuple[str, dict[str, str]]]
        if s.startswith("(?P<", i):
            end = _closing(s, i)
            name, inner = s[i + 4:end].split(">", 1)
            piece = [("{" + name + "}", {name: inner})]
            i = end + 1
        elif s.startswith("(?:", i):
            end = _closing(s, i)
            piece = _variants(s[i + 3:end])
            i = end + 1
        elif s[i] == "\\":
            piece = [(s[i + 1], {})]
            i += 2
        elif s[i] in "^$":
            i += 1
            continue
        else:
            piece = [(s[i], {})]
            i += 1
        if i < len(s) and s[i] == "?":
            piece = [*piece, ("", {})]
            i += 1
        out = [(a + b, {**pa, **pb}) for a, pa in out for b, pb in piece]
    return out


def route_paths(regex: str) -> list[tuple[str, dict[str, str]]]:
    """`(OpenAPI path, {parameter: its regex})` for every variant of a route regex."""
    return [("/" + path.lstrip("/"), params) for path, params in _variants(regex)]


def path_parameter(name: str, pattern: str) -> Schema:
    schema: Schema = ({"type": "string", "enum": pattern.split("|")} if _WORDS.match(pattern)
                      else {"type": "string", "pattern": f"^(?:{pattern})$"})
    return {"name": name, "in": "path", "required": True, "schema": schema}


# --------------------------------------------------------------------------- operations


def error_response(style: ErrorStyle) -> Schema:
    if style == "git":
        return {"description": "Refused (git prints the text as remote: lines)",
                "content": {"text/plain": {"schema": {"type": "string"}}}}
    if style == "lfs":
        return {"description": "Refused (Git LFS error)", "content": {LFS_MEDIA: {"schema": ERROR_LFS}}}
    return {"description": "Refused: X-Error-Code and X-Error-Message say why",
            "content": {"application/json": {"schema": ERROR_JSON}}}


def _operation_id(method: str, path: str) -> str:
    return method.lower() + "_" + re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_")


def plain_operation(doc: OperationDoc, method: str, path: str) -> Schema:
    responses: Schema = {}
    for status, schema in doc.responses.items():
        described: Schema = {"description": "OK" if status.startswith("2") else "Error"}
        if schema is not None and method != "HEAD":
            described["content"] = {LFS_MEDIA if doc.style == "lfs" else "application/json": {"schema": schema}}
        responses[status] = described
    responses.setdefault("200", {"description": "OK"})
    if "4XX" not in responses:
        responses["4XX"] = error_response(doc.style) if method != "HEAD" else {"description": "Refused"}
    operation: Schema = {"operationId": _operation_id(method, path), "summary": doc.summary,
                         "tags": [_tag(path)], "responses": responses}
    operation["parameters"] = [{"name": q, "in": "query", "required": False, "schema": {"type": "string"}}
                               for q in doc.query]
    if doc.body and method in ("POST", "PUT", "PATCH"):
        body = {} if "json" in doc.body else {"type": "string", "format": "binary"}
        operation["requestBody"] = {"required": False, "content": {doc.body: {"schema": body}}}
    return operation


def _tag(path: str) -> str:
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/xet/"):
        return "xet"
    if "/info/lfs/" in path or path.startswith("/lfs-upload/"):
        return "lfs"
    if "/resolve/" in path:
        return "files"
    return "git"


class HubSchemaGenerator(SchemaGenerator):
    """drf-spectacular's generator over the routes of `is_client_route`: DRF views through
    their AutoSchema, plain views from their `OperationDoc`; path parameters from the regex."""

    def parse(self, input_request: Any, public: bool) -> Schema:
        result: Schema = {}
        enumerator = EndpointEnumerator()
        for route in iter_routes():
            if not is_client_route(route) or not is_documented(route):
                continue
            drf = hasattr(route.callback, "cls")
            doc: OperationDoc | None = getattr(route.callback, "openapi", None)
            methods = enumerator.get_allowed_methods(route.callback) if drf or doc is None else doc.methods
            for path, params in route_paths(route.regex):
                for method in methods:
                    if method not in _METHODS:
                        continue
                    operation = (self._drf_operation(route, path, method, input_request) if drf or doc is None
                                 else plain_operation(doc, method, path))
                    if operation is None:
                        continue
                    others = [p for p in operation.get("parameters", []) if p.get("in") != "path"]
                    operation["parameters"] = [path_parameter(n, p) for n, p in params.items()] + others
                    operation["operationId"] = _operation_id(method, path)
                    responses = operation.setdefault("responses", {})
                    responses.setdefault("4XX", error_response("json"))
                    result.setdefault(path, {})[method.lower()] = operation
        return result

    def _drf_operation(self, route: Route, path: str, method: str, request: Any) -> Schema | None:
        view = self.create_view(route.callback, method, request)
        view.request = spectacular_settings.GET_MOCK_REQUEST(method, path, view, request)
        operation: Schema | None = view.schema.get_operation(path, route.regex, "^/api/", method, self.registry)
        if operation is not None:
            operation["tags"] = [_tag(path)]
        return operation
