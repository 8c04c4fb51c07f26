"""A tiny WSGI app for tests/ops/test_slow_clients.py: gunicorn with the hub's worker and
config starts in well under a second around it (no Django)."""
from __future__ import annotations


def application(environ, start_response):
    if environ["PATH_INFO"] == "/length":
        stream, total = environ["wsgi.input"], 0
        while chunk := stream.read(1024 * 1024):
            total += len(chunk)
        body = str(total).encode()
    else:
        body = b"ok"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
