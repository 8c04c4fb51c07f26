"""The baseline of `bench.metadata`: the cheapest possible WSGI app, served by gunicorn with
the hub's own configuration (`hub/gunicorn_conf.py`), so the ratio isolates what the hub does
per request (Django, the ORM, git) from what the server and the machine cost."""
from __future__ import annotations

from collections.abc import Callable, Iterable

_BODY = b'{"id":"bencher/model","sha":"0000000000000000000000000000000000000000","private":false}'


def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(_BODY)))])
    return [] if environ.get("REQUEST_METHOD") == "HEAD" else [_BODY]
