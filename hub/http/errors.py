"""THE translator from a domain error (HubError) or a plain status to an HTTP response.

Every surface answers errors through `error_response` / `hub_error_response`, in the style its
clients read (`ErrorStyle`):

* ``json``: the HF API (`{"error": ...}` + `X-Error-Code` / `X-Error-Message`, all the
  huggingface_hub client looks at);
* ``git``: git smart HTTP (`text/plain`, which git prints as `remote:` lines); a 401 carries
  `WWW-Authenticate` so git asks its credential helper and retries;
* ``lfs``: the Git LFS API (`application/vnd.git-lfs+json` with `message`, which git-lfs shows,
  and `error`, which huggingface_hub reads); a 401 carries `LFS-Authenticate` too;
* ``html``: the site's error page for browsers (a moved repository redirects instead).

`error_style(path)` picks the style from the URL, so middleware and views need not know it.
Header values built from user input go through `header_value`, the one sanitizer: a control
character or a non-latin-1 character in a header makes the WSGI server refuse the response
(a 500 from bad input), so they are replaced, and the length is bounded.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Literal

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseRedirectBase
from django.utils.encoding import iri_to_uri

from hub.exceptions import HubError, RepoMoved

ErrorStyle = Literal["json", "git", "lfs", "html"]

MAX_HEADER_VALUE = 1000
REALM = 'Basic realm="ModelHub"'
LFS_CONTENT_TYPE = "application/vnd.git-lfs+json"
# C0 controls, DEL and C1 controls: none may appear in a header value.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

# Routes spoken by clients rather than browsers, anchored on the repo id so that an HTML page of
# a folder named "info" or "resolve" stays HTML. Any segment (even an empty one, and after
# any number of leading slashes) counts as a repo id here: a request for an invalid id on
# these routes still gets the client's kind of error.
_REPO = r"(?:(?:datasets|spaces)/)?[^/]*/[^/]*?(?:\.git)?"
_GIT_ROUTE = re.compile(rf"^/+{_REPO}/(?:info/refs$|git-upload-pack$|git-receive-pack$)")
_LFS_ROUTE = re.compile(rf"^/+(?:lfs-upload/|{_REPO}/info/lfs/)")
_JSON_ROUTE = re.compile(rf"^/+(?:api/|xet/|{_REPO}/resolve/)")  # xet/: the Xet CAS


class TemporaryRedirect(HttpResponseRedirectBase):
    """307: clients repeat the same method at the new URL (a relative one is fine for every
    huggingface_hub version)."""

    status_code = 307


def header_value(text: str, *, limit: int = MAX_HEADER_VALUE) -> str:
    """`text` made safe for an HTTP header: one line, no control characters, latin-1 only
    (others become "?"), at most `limit` characters."""
    return _CONTROL.sub(" ", text).encode("latin-1", "replace").decode("latin-1")[:limit]


def error_style(path: str) -> ErrorStyle:
    """The error style of the route `path` belongs to."""
    if _GIT_ROUTE.match(path):
        return "git"
    if _LFS_ROUTE.match(path):
        return "lfs"
    if _JSON_ROUTE.match(path):
        return "json"
    return "html"


def is_machine_route(path: str) -> bool:
    """Whether clients (not browsers) speak this route: errors are never HTML pages there."""
    return error_style(path) != "html"


def error_response(status: int, message: str, *, code: str | None = None,
                   headers: Mapping[str, str] | None = None, request: HttpRequest | None = None,
                   style: ErrorStyle = "json") -> HttpResponse:
    """The error response of `style` (see the module docstring). For HEAD requests the
    Content-Length of the body a GET would carry is kept: a 0 would read as an empty file."""
    response: HttpResponse
    if style == "html":
        from django.shortcuts import render

        response = render(request, "error.html", {"status": status, "message": message}, status=status)
    elif style == "git":
        response = HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")
        response["Cache-Control"] = "no-cache"
    elif style == "lfs":
        response = HttpResponse(json.dumps({"message": message, "error": message}), status=status,
                                content_type=LFS_CONTENT_TYPE)
    else:
        response = HttpResponse(json.dumps({"error": message}), status=status, content_type="application/json")
    if style != "html":
        if code:
            response["X-Error-Code"] = code
        response["X-Error-Message"] = header_value(message)
    if status == 401 and style in ("git", "lfs"):
        response["WWW-Authenticate"] = REALM
        if style == "lfs":
            response["LFS-Authenticate"] = REALM
    for key, value in (headers or {}).items():
        response[key] = header_value(value, limit=8000)
    if request is not None and request.method == "HEAD":
        response["Content-Length"] = str(len(response.content))
    return response


def hub_error_response(exc: HubError, request: HttpRequest | None = None,
                       style: ErrorStyle | None = None) -> HttpResponse:
    """`exc` as a response; the style defaults to the one of the request's route."""
    if style is None:
        style = error_style(request.path) if request is not None else "json"
    if isinstance(exc, RepoMoved) and "Location" in exc.headers:
        # Built from the request's URL: made a URI (percent-encoded), then one safe line.
        location = header_value(iri_to_uri(exc.headers["Location"]), limit=8000)
        if style == "html":
            return HttpResponseRedirect(location)  # browsers simply land on the current name
        response = TemporaryRedirect(location, content=json.dumps({"error": exc.message}),
                                     content_type="application/json")
        response["X-Error-Message"] = header_value(exc.message)
        return response
    return error_response(exc.status, exc.message, code=exc.code, headers=exc.headers, request=request, style=style)
