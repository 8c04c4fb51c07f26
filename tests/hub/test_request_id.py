"""X-Request-Id on every response (hub/http/request_id.py): pages, API, errors, static files."""
from __future__ import annotations

import re

import pytest

from hub.http.request_id import request_id_for

pytestmark = pytest.mark.django_db

HEX32 = re.compile(r"^[0-9a-f]{32}$")


@pytest.mark.parametrize("path", ["/", "/api/whoami-v2", "/api/models/alice/missing", "/api/nope",
                                  "/alice/missing/resolve/main/f", "/no-such/page/here", "/static/css/hub.css"])
def test_every_response_carries_a_fresh_id(client, path):
    first, second = client.get(path), client.get(path)
    assert HEX32.match(first["X-Request-Id"]) and HEX32.match(second["X-Request-Id"])
    assert first["X-Request-Id"] != second["X-Request-Id"]


def test_a_sane_incoming_id_is_kept_and_others_replaced(client):
    kept = client.get("/api/models/alice/missing", headers={"X-Request-Id": "Root=1-abc-def:42"})
    assert kept["X-Request-Id"] == "Root=1-abc-def:42"
    for bad in ("", "a b", "x" * 200, "id\u00e9", "-leading-dash", "a;b"):
        replaced = client.get("/api/models/alice/missing", headers={"X-Request-Id": bad})
        assert HEX32.match(replaced["X-Request-Id"]), bad


def test_request_id_for():
    assert request_id_for("abc-123") == "abc-123"
    assert HEX32.match(request_id_for(None))
    assert HEX32.match(request_id_for("\r\nSet-Cookie: x=1"))
