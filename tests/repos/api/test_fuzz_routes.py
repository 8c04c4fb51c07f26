"""Never a 500 for bad input: every HF wire route, through the Django test client.

Two passes over the routes of the URL resolver (`tests.repos.api.fuzz_inputs`): a fixed matrix
(every route x every unsafe method x each hostile body: JSON nested 10 000 deep, a body over
the limits, invalid UTF-8, the wrong content type; every route x hostile query values, such
as a cursor of base64 JSON nested 1 400 deep) and a bounded, derandomized hypothesis pass
mixing hostile path segments, query values, bodies, content types and credentials. The test
client re-raises any exception a view lets escape, so a crash fails with its traceback.
Limits are lowered for the run so that "over the limit" costs kilobytes, not megabytes.
"""
from __future__ import annotations

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.http.wsgi import HubWSGIRequest
from tests.repos.api.fuzz_inputs import (
    HOSTILE_QUERY_VALUES,
    QUERY_KEYS,
    FuzzRequest,
    Target,
    check_answer,
    deep_bodies,
    hf_routes,
    huge_body,
    invalid_utf8_bodies,
    requests,
)

pytestmark = pytest.mark.django_db

LIMIT = 64 * 1024


@pytest.fixture
def small_limits(settings, monkeypatch):
    from repos.api.write import yaml_validation
    from repos.transport import lfs_http

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = LIMIT
    settings.HUB_COMMIT_MAX_BODY_BYTES = LIMIT
    monkeypatch.setattr(lfs_http, "MAX_JSON_BODY", LIMIT)
    monkeypatch.setattr(yaml_validation, "MAX_README_BYTES", LIMIT)


@pytest.fixture
def fuzz(repo, tokens, small_limits, monkeypatch):
    """(send, target): `send(FuzzRequest)` runs it through the test client and checks the answer."""
    # The test client builds Django's own request class; the hub's WSGI handler uses its own.
    monkeypatch.setattr("django.test.client.WSGIRequest", HubWSGIRequest)
    client = Client()
    credentials = {"none": None, "writer": tokens["alice"], "reader": tokens["alice_read"],
                   "stranger": tokens["bob"], "garbage": "hf_\x01not-a-token"}
    target = Target(namespace=repo.namespace, name=repo.name, username="bob", key=repo.storage_key.hex)

    def send(request: FuzzRequest) -> None:
        extra = {}
        if token := credentials[request.auth]:
            extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        if request.content_type is not None:
            extra["CONTENT_TYPE"] = request.content_type
        data = request.body if request.body is not None else b""
        response = client.generic(request.method, request.url, data, **extra)
        try:
            check_answer(request, response.status_code, dict(response.items()))
        finally:
            response.close()

    return send, target


UNSAFE = ["POST", "PUT", "DELETE"]


def test_every_route_survives_hostile_bodies(fuzz):
    send, target = fuzz
    routes = hf_routes()
    assert len(routes) > 30, "the resolver lost the HF routes"
    hostile = [*deep_bodies(), *invalid_utf8_bodies(), huge_body(LIMIT)]
    for route in routes:
        path = route.template % {p: target.value(p) for p in route.params}
        for method in UNSAFE:
            for body in hostile:
                send(FuzzRequest(method, path, "", body, "application/json", "writer"))
            for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
                send(FuzzRequest(method, path, "", b'{"a": 1}', content_type, "writer"))


def test_every_route_survives_hostile_query_values(fuzz):
    send, target = fuzz
    for route in hf_routes():
        path = route.template % {p: target.value(p) for p in route.params}
        for value in HOSTILE_QUERY_VALUES:
            query = "&".join(f"{key}={value.decode()}" for key in QUERY_KEYS)
            send(FuzzRequest("GET", path, query, None, None, "writer"))


@pytest.mark.parametrize("path", ["/api/%1Ar", "/api/%00", "/api/%0D%0Ax", "/api/models/a/b%00/tree/main",
                                  "/api/models/{repo}/tree/ma%0D%0Ain", "/api/models/{repo}/revision/%00",
                                  "/api/models/{repo}/commits/%1A%FF", "/{repo}/resolve/main/%0D%0ASet-Cookie:x",
                                  "/api/models/{repo}/tree/main/%FF%FE"])
def test_control_characters_in_paths(fuzz, path):
    send, target = fuzz
    path = path.format(repo=f"{target.namespace}/{target.name}")
    for method in ("GET", "HEAD", "POST"):
        send(FuzzRequest(method, path, "cursor=%00&expand=%0D%0A&search=%1A", None, None, "writer"))


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_hypothesis_pass(fuzz, data):
    send, target = fuzz
    send(data.draw(requests(hf_routes(), target, huge_size=LIMIT)))
