"""Never a 500 for bad input, against the real server (gunicorn + hub.wsgi) over http.client.

The smaller sibling of `test_fuzz_routes.py`: the same routes and hostile inputs, sent as
bytes on a socket, so what the in-process client cannot show is covered too (the WSGI
handler building the request, gunicorn sending our headers, bodies over the real limits).
"""
from __future__ import annotations

import http.client
import json
import urllib.parse

import pytest
from django.conf import settings as django_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.repos.api.fuzz_inputs import (
    FuzzRequest,
    Target,
    check_answer,
    deep_bodies,
    hf_routes,
    huge_body,
    invalid_utf8_bodies,
    requests,
)

pytestmark = pytest.mark.live


class LiveSender:
    def __init__(self, live_hub, credentials: dict[str, str | None]) -> None:
        url = urllib.parse.urlsplit(live_hub.url)
        self.host, self.port = url.hostname, url.port
        self.credentials = credentials

    def raw(self, method: str, url: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        conn.putrequest(method, url, skip_accept_encoding=True)
        for key, value in (headers or {}).items():
            conn.putheader(key, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        if body:
            try:
                conn.send(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server answered before reading it all: its answer is still there
        response = conn.getresponse()
        response.read()
        conn.close()
        return response

    def __call__(self, request: FuzzRequest) -> None:
        headers = {}
        if token := self.credentials[request.auth]:
            headers["Authorization"] = f"Bearer {token}"
        if request.content_type is not None:
            headers["Content-Type"] = request.content_type
        response = self.raw(request.method, request.url, request.body, headers)
        check_answer(request, response.status, dict(response.getheaders()))


@pytest.fixture(scope="module")
def live(live_hub):
    writer = live_hub.create_user("fuzzer")
    # The personas of the in-process pass cost a user each here; two credentials are enough.
    sender = LiveSender(live_hub, {"none": None, "writer": writer, "reader": writer, "stranger": None,
                                   "garbage": "hf_not-a-token"})
    r = sender.raw("POST", "/api/repos/create", json.dumps({"name": "fuzzed"}).encode(),
                   {"Authorization": f"Bearer {writer}", "Content-Type": "application/json"})
    assert r.status == 200, r.status
    return sender, Target(namespace="fuzzer", name="fuzzed", username="nobody")


@pytest.mark.parametrize("path", ["/api/%1Ar", "/api/%00", "/api/%0D%0Ax", "/api/models/fuzzer/fuzzed%00/refs",
                                  "/api/models/fuzzer/fuzzed/tree/ma%0D%0Ain", "/api/models/fuzzer/fuzzed/revision/%00",
                                  "/api/models/fuzzer/fuzzed/commits/%1A%FF", "/fuzzer/fuzzed/resolve/main/%0D%0Ax",
                                  "/fuzzer/fuzzed%0A.git/info/lfs/objects/batch"])
def test_control_characters_in_paths(live, path):
    send, _ = live
    for method in ("GET", "HEAD", "POST"):
        send(FuzzRequest(method, path, "cursor=%00&expand=%0D%0A&search=%1A", None, None, "writer"))


def test_hostile_bodies_on_every_post_route(live):
    send, target = live
    hostile = [*deep_bodies()[:2], *invalid_utf8_bodies()[:2]]
    for route in hf_routes():
        path = route.template % {p: target.value(p) for p in route.params}
        for body in hostile:
            send(FuzzRequest("POST", path, "", body, "application/json", "writer"))
        send(FuzzRequest("POST", path, "", b'{"a": 1}', "text/plain", "writer"))
        send(FuzzRequest("POST", path, "", b'{"a": 1}', "application/json; charset=bz2_codec", "writer"))


@pytest.mark.parametrize("route", ["/api/models/fuzzer/fuzzed/preupload/main", "/api/repos/create",
                                   "/api/models/fuzzer/fuzzed/paths-info/main", "/api/validate-yaml",
                                   "/fuzzer/fuzzed.git/info/lfs/objects/batch"])
def test_bodies_over_the_limits(live, route):
    send, _ = live
    over = max(django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE, 16 * 1024 * 1024) + 1
    send(FuzzRequest("POST", route, "", huge_body(over), "application/json", "writer"))


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_hypothesis_pass(live, data):
    send, target = live
    send(data.draw(requests(hf_routes(), target, huge_size=64 * 1024)))
