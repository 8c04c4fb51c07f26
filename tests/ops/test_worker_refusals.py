"""What the web server answers below the application is shaped like the application's errors:
gunicorn's own refusal of a request line over `limit_request_line` (414) carries the message as
JSON and in X-Error-Message, an X-Request-Id and the security headers (hub/gunicorn_worker.py)."""
from __future__ import annotations

import json
import socket

import pytest

pytestmark = pytest.mark.live


def _raw_exchange(port: int, request: bytes) -> tuple[str, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return status, headers, body


def test_a_request_line_over_the_limit_is_refused_in_the_hub_style(live_hub) -> None:
    target = "/api/models?search=" + "a" * 9000
    status, headers, body = _raw_exchange(live_hub.port, f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert status.startswith("HTTP/1.1 414"), status
    assert headers["content-type"] == "application/json"
    assert headers["x-error-message"] and "\n" not in headers["x-error-message"]
    assert json.loads(body)["error"] == headers["x-error-message"] or json.loads(body)["error"].startswith(
        headers["x-error-message"][:50])
    assert len(headers["x-request-id"]) >= 16
    assert headers["x-content-type-options"] == "nosniff"
