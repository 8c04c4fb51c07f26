"""Hostile requests for the HF API routes, shared by the in-process and the live fuzz passes.

The routes are read from Django's URL resolver (every `/api/...` route, the LFS JSON routes,
the signed LFS upload and `/resolve/`), so a route added later is fuzzed without touching the
tests. Each request fills the route's parameters with either the real repository's values (to
get past the lookup and reach the body parser) or hostile bytes (control characters, invalid
UTF-8, long runs), adds hostile query values, and sends one of the bodies that crashed servers
before: JSON nested 10 000 deep, bodies over the limits, invalid UTF-8, wrong content types.

What every answer must satisfy is `check_answer`: never a 5xx (but the declared 501 of the
features this server does not offer: Xet tokens, LFS lock creation), an `X-Error-Message` on
every error, and header values a WSGI server can send (one latin-1 line, no control characters).
"""
from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import quote_from_bytes

from hypothesis import strategies as st

DEPTH = 10_000
NASTY_TEXT = ["\x00", "\x1a", "\r\n", "\n", "\r", "\t", "\x7f", "\x85", "\x9b", "\u2028", "\ufeff", "é", "%",
              "..", "/", " ", '"', ";", "a" * 3000]
NASTY_BYTES = [t.encode("utf-8") for t in NASTY_TEXT] + [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80"]
# Query parameters the API reads (and one it does not).
QUERY_KEYS = ["cursor", "expand", "expand[]", "limit", "search", "filter", "sort", "direction", "author",
              "pipeline_tag", "full", "cardData", "gated", "recursive", "blobs", "include_prs", "create_pr", "p",
              "token", "service", "size", "expires", "sig", "x"]
JSON_KEYS = ["files", "path", "size", "sample", "gitIgnore", "paths", "expand", "name", "organization", "type",
             "private", "visibility", "fromRepo", "toRepo", "gated", "startingPoint", "tag", "message", "content",
             "repoType", "operation", "objects", "oid", "transfers", "ref", "user", "role", "scopes", "status",
             "key", "value", "summary", "header"]
CONTENT_TYPES = ["application/json", "application/x-ndjson", "text/plain", "application/x-www-form-urlencoded",
                 "multipart/form-data; boundary=fuzz", "multipart/form-data", "application/json; charset=utf-16",
                 "application/json; charset=bz2_codec", "application/json; charset=nope",
                 "application/vnd.git-lfs+json", "application/octet-stream", "", None]
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
# Query values that decode to something hostile: cursors are base64 JSON.
HOSTILE_QUERY_VALUES = [base64.urlsafe_b64encode(b"[" * 1400).rstrip(b"="),
                        base64.urlsafe_b64encode(b'{"o": ' * 300 + b"1" + b"}" * 300).rstrip(b"="),
                        base64.urlsafe_b64encode(b'{"o": 1e999999}').rstrip(b"="), b"9" * 5000]
# Characters that may never appear in a header value we send.
_BAD_HEADER_CHAR = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Route:
    """One route of the resolver as a `%(param)s` template of an absolute path."""

    template: str
    params: tuple[str, ...]


def _walk(patterns: list, prefix: str = "") -> Iterator[str]:
    from django.urls import URLResolver

    for pattern in patterns:
        regex = pattern.pattern.regex.pattern.lstrip("^")
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + regex)
        else:
            yield prefix + regex


# Django's `normalize` gives up on an alternation outside a group (`xet-(?:read|write)-token`):
# such a group is replaced by its first alternative first.
_ALTERNATION = re.compile(r"\(\?:([^()|]*)\|[^()]*\)")
_WIRE_ROUTE = re.compile(r"^(api/.|lfs-upload/|.*info/lfs/|.*/resolve/)")


def hf_routes() -> list[Route]:
    """Every HF wire route of the resolver (API, LFS JSON and upload, resolve), each spelling
    of its optional parts; the catch-all `/api/` 404 is reached by the hostile paths."""
    from django.urls import get_resolver
    from django.utils.regex_helper import normalize

    routes: dict[str, Route] = {}
    for regex in _walk(get_resolver().url_patterns):
        if not _WIRE_ROUTE.match(regex):
            continue
        for template, params in normalize(_ALTERNATION.sub(r"\1", regex)):
            if template:
                routes.setdefault(template, Route("/" + template, tuple(params)))
    return list(routes.values())


@dataclass(frozen=True)
class Target:
    """Real values for route parameters, so that requests get past the repository lookup."""

    namespace: str
    name: str
    username: str
    org: str = "no-such-org"
    key: str = "0" * 32
    oid: str = "a" * 64

    def value(self, param: str) -> str:
        return {"plural": "models", "prefix": "datasets", "namespace": self.namespace, "name": self.name,
                "rev": "main", "remainder": "main/README.md", "rest": "", "access": "write", "org": self.org,
                "username": self.username, "token_id": "1", "status": "pending", "key": self.key,
                "oid": self.oid}.get(param, "x")


# Parameters whose value may hold "/" (revisions and repository paths).
_SLASHED = {"rev", "remainder", "rest"}


@dataclass(frozen=True)
class FuzzRequest:
    method: str
    path: str  # percent-encoded
    query: str
    body: bytes | None
    content_type: str | None
    auth: str  # a key of the test's credentials: "none", "writer", "reader", "stranger", "garbage"

    @property
    def url(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path


def _segment(valid: str) -> st.SearchStrategy[bytes]:
    nasty = st.sampled_from(NASTY_BYTES)
    return st.one_of(
        st.just(valid.encode()),
        st.just(valid.encode()),
        st.tuples(nasty, nasty).map(lambda t: valid.encode() + t[0] + t[1]),
        nasty,
        st.binary(min_size=1, max_size=24),
    )


def _json_values() -> st.SearchStrategy:
    scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                        st.floats(allow_nan=False), st.text(max_size=20), st.sampled_from(NASTY_TEXT[:-1]))
    return st.recursive(scalars, lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(JSON_KEYS), st.text(max_size=8)), children, max_size=4)),
        max_leaves=12)


def deep_bodies() -> list[bytes]:
    """JSON (and NDJSON lines) nested DEPTH levels deep."""
    return [
        b"[" * DEPTH + b"]" * DEPTH,
        b'{"a":' * DEPTH + b"1" + b"}" * DEPTH,
        b'{"files": ' + b"[" * DEPTH + b"]" * DEPTH + b"}",
        b'{"key": "header", "value": {"summary": ' + b"[" * DEPTH + b"]" * DEPTH + b"}}\n",
        b'{"key": "header", "value": {"summary": "s"}}\n' + b"[" * DEPTH + b"\n",
        b"[" * DEPTH,
    ]


def invalid_utf8_bodies() -> list[bytes]:
    return [b"\xff\xfe\xfd", b'{"files": "\xff"}', b'{"paths": ["\xc3\x28"]}',
            b'{"key": "header", "value": {"summary": "\xed\xa0\x80"}}\n', b'{"content": "---\n\xff: 1\n---\n"}',
            b"paths=\xff&expand=\xfe"]


def huge_body(size: int) -> bytes:
    """A JSON document (and one NDJSON line) of `size` bytes and more."""
    return b'{"files": [], "content": "' + b"x" * size + b'"}\n'


def bodies(huge_size: int) -> st.SearchStrategy[bytes | None]:
    ndjson_lines = st.lists(_json_values().map(lambda v: json.dumps(v).encode()), min_size=1, max_size=4)
    return st.one_of(
        st.none(),
        st.sampled_from(deep_bodies()),
        st.sampled_from(invalid_utf8_bodies()),
        st.just(huge_body(huge_size)),
        _json_values().map(lambda v: json.dumps(v).encode()),
        ndjson_lines.map(lambda lines: b'{"key": "header", "value": {"summary": "s"}}\n' + b"\n".join(lines)),
        st.binary(max_size=64),
    )


def requests(routes: list[Route], target: Target, *, huge_size: int) -> st.SearchStrategy[FuzzRequest]:
    """Hostile requests on `routes` (see the module docstring)."""

    @st.composite
    def build(draw: st.DrawFn) -> FuzzRequest:
        route = draw(st.sampled_from(routes))
        values = {}
        for param in route.params:
            # The optional `datasets/` prefix is not fuzzed: another value makes another URL.
            raw = target.value(param).encode() if param == "prefix" else draw(_segment(target.value(param)))
            if param not in _SLASHED:
                # Servers decode %2F: a "/" in a repository id would make a URL of another shape.
                raw = raw.replace(b"/", b"") or b"x"
            values[param] = quote_from_bytes(raw, safe="/" if param in _SLASHED else "")
        query_items = draw(st.lists(st.tuples(st.sampled_from(QUERY_KEYS),
                                              st.one_of(_segment("1"), st.sampled_from(HOSTILE_QUERY_VALUES))),
                                    max_size=3))
        query = "&".join(f"{quote_from_bytes(k.encode(), safe='[]')}={quote_from_bytes(v, safe='')}"
                         for k, v in query_items)
        return FuzzRequest(method=draw(st.sampled_from(METHODS)), path=route.template % values, query=query,
                           body=draw(bodies(huge_size)), content_type=draw(st.sampled_from(CONTENT_TYPES)),
                           auth=draw(st.sampled_from(["none", "writer", "writer", "reader", "stranger", "garbage"])))

    return build()


def check_answer(request: FuzzRequest, status: int, headers: Mapping[str, str]) -> None:
    """The promises of every answer to bad input (see the module docstring)."""
    what = f"{request.method} {request.url[:300]!r} ({request.auth}, {request.content_type!r}): {status}"
    declared = status == 501 and bool(headers.get("X-Error-Message"))
    assert status < 500 or declared, f"{what} {headers.get('X-Error-Message')}"
    if status >= 400:
        assert headers.get("X-Error-Message"), f"{what} without X-Error-Message"
    for name, value in headers.items():
        assert not _BAD_HEADER_CHAR.search(value), f"{request.url[:300]!r}: header {name}={value[:200]!r}"
        value.encode("latin-1")
