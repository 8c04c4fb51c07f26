"""Rate limits (hub/http/ratelimit.py): every bucket refuses past its limit with a 429 in the
route's style, reads are never counted, and the table of limited routes matches real routes.
Sharing between processes: test_ratelimit_processes.py."""
from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from django.test import Client, override_settings
from huggingface_hub.utils import parse_ratelimit_headers

from hub.http import ratelimit
from tests.factories import TokenFactory, seeded_model
from tests.repos.gate.route_rules import ADMIN_PREFIX
from tests.repos.gate.test_permission_matrix import iter_routes, rule_for
from tests.repos.gate.world import ORG, build_world, make_repo

pytestmark = pytest.mark.django_db

OFF = {bucket: "0" for bucket in ratelimit.ROUTES} | {"auth_failure": "0", "upload": "0"}
LFS = "application/vnd.git-lfs+json"
# Windows are aligned on the clock: one of ~31 years cannot end between two requests of a test.
WINDOW = 10**9

# bucket -> the requests that count in it: (who, method, path, body, content type). Each is sent
# once more than the limit; the last must be refused, the others must not.
WRITES: dict[str, list[tuple[str, str, str, Any, str]]] = {
    "signup": [("anonymous", "POST", "/join", {"username": "x"}, "form")],
    "password_reset": [("anonymous", "POST", "/password-reset", {"email": "nobody@example.com"}, "form")],
    "token_create": [("token", "POST", "/api/tokens", {"name": "t", "role": "read"}, "json"),
                     ("session", "POST", "/settings/tokens", {"name": "t", "role": "read"}, "form")],
    "repo_create": [("token", "POST", "/api/repos/create", {"name": "will-not-exist/"}, "json"),
                    ("session", "POST", "/new", {"name": ""}, "form"),
                    ("session", "POST", "/new-dataset", {"name": ""}, "form")],
    "commit": [("token", "POST", "/api/models/alice/tiny-bert/commit/main", b"not ndjson", "ndjson"),
               ("token", "POST", "/api/models/alice/tiny-bert/super-squash/no-such-branch", {}, "json"),
               ("token", "POST", "/alice/tiny-bert.git/git-receive-pack", b"", "git"),
               ("session", "POST", "/alice/tiny-bert/upload/main", {}, "form"),
               ("session", "POST", "/alice/tiny-bert/edit/main/config.json", {}, "form"),
               ("session", "POST", "/alice/tiny-bert/new-file/main", {}, "form"),
               ("token", "POST", "/api/models/alice/tiny-bert/discussions/999/merge", {}, "json"),
               ("session", "POST", "/alice/tiny-bert/discussions/999/merge", {}, "form")],
    "discussion": [("token", "POST", "/api/models/alice/tiny-bert/discussions", {"title": ""}, "json"),
                   ("token", "POST", "/api/models/alice/tiny-bert/discussions/999/comment", {}, "json"),
                   ("token", "POST", "/api/models/alice/tiny-bert/discussions/999/reviews", {}, "json"),
                   ("session", "POST", "/alice/tiny-bert/discussions/new", {}, "form"),
                   ("session", "POST", "/alice/tiny-bert/discussions/999/comment", {}, "form"),
                   ("session", "POST", "/alice/tiny-bert/discussions/999/review", {}, "form")],
    "upload": [("token", "POST", "/alice/tiny-bert.git/info/lfs/objects/batch",
                {"operation": "upload", "objects": [{"oid": "a" * 64, "size": 1}]}, "lfs")],
}


def send(client: Client, method: str, path: str, body: Any, kind: str, headers: dict[str, str]) -> Any:
    if kind == "form":
        return client.generic(method, path, _form(body), content_type="application/x-www-form-urlencoded",
                              **headers)
    content_type = {"json": "application/json", "lfs": LFS, "ndjson": "application/x-ndjson",
                    "git": "application/x-git-receive-pack-request"}[kind]
    data = json.dumps(body) if isinstance(body, dict) else body
    return client.generic(method, path, data, content_type=content_type, **headers)


def _form(body: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return urlencode(body)


@pytest.fixture
def callers(alice) -> dict[str, tuple[Client, dict[str, str]]]:
    seeded_model(alice)
    session = Client()
    session.force_login(alice)
    token = TokenFactory(user=alice, name="w").secret
    return {"anonymous": (Client(), {}), "session": (session, {}),
            "token": (Client(), {"HTTP_AUTHORIZATION": f"Bearer {token}"})}


def assert_refused(response: Any, bucket: str, path: str) -> None:
    assert response.status_code == 429, (path, response.status_code)
    retry = int(response["Retry-After"])
    assert 0 < retry <= WINDOW
    info = parse_ratelimit_headers(response.headers)  # what huggingface_hub reads
    assert info is not None and info.resource_type == bucket and info.remaining == 0, path
    assert info.reset_in_seconds == retry and info.limit == 2 and info.window_seconds == WINDOW
    if path.startswith("/api/"):
        assert response["Content-Type"] == "application/json"
        assert response["X-Error-Message"].startswith(f"Too many requests: the '{bucket}' limit")
        assert "Retry after" in json.loads(response.content)["error"]
    elif ".git/info/lfs/" in path:
        assert response["Content-Type"] == LFS and "limit" in json.loads(response.content)["message"]
    elif ".git/" in path:
        assert response["Content-Type"].startswith("text/plain")
    else:
        assert response["Content-Type"].startswith("text/html") and b"Too many requests" in response.content


@pytest.mark.parametrize("bucket", sorted(WRITES))
def test_each_write_bucket_refuses_past_its_limit(bucket: str, callers) -> None:
    for who, method, path, body, kind in WRITES[bucket]:
        with override_settings(HUB_RATE_LIMITS=OFF | {bucket: f"2/{WINDOW}"}):
            client, headers = callers[who]
            statuses = [send(client, method, path, body, kind, headers).status_code for _ in range(2)]
            assert 429 not in statuses, (path, statuses)
            assert_refused(send(client, method, path, body, kind, headers), bucket, path)
            # Another caller has a bucket of its own (the session and the token are alice's both).
            other = callers["anonymous" if who != "anonymous" else "session"]
            if bucket not in ("signup",):
                response = send(other[0], method, path, body, kind, {**other[1], "REMOTE_ADDR": "198.51.100.7"})
                assert response.status_code != 429, path
        from django.core.cache import cache

        cache.clear()


def test_the_table_names_real_routes_and_only_writes() -> None:
    """Each pattern of ROUTES matches the sample URL of at least one route of the resolver, and
    no read method is ever counted."""
    extra = {"org": ORG, "sha": "0" * 40, "fresh_name": lambda: "fresh"}
    samples = [rule_for(r).build("alice/demo", "alice/demo", "models", extra)["path"].split("?")[0]
               for r in iter_routes() if not r.startswith(ADMIN_PREFIX)]
    for bucket, pattern in ratelimit.ROUTES.items():
        assert any(pattern.match(p) for p in samples), f"{bucket}: {pattern.pattern} matches no route"
    for path in samples:
        for method in ("GET", "HEAD", "OPTIONS"):
            assert ratelimit.bucket_of(method, path) is None
    # Reads that are POSTs are not writes either.
    for path in ("/api/models/alice/demo/paths-info/main", "/alice/demo.git/git-upload-pack",
                 "/alice/demo.git/info/lfs/objects/batch", "/api/validate-yaml", "/login"):
        assert ratelimit.bucket_of("POST", path) is None, path


@override_settings(HUB_RATE_LIMITS={bucket: f"1/{WINDOW}" for bucket in OFF})
def test_reads_are_never_limited() -> None:
    """With every limit at 1, every route's sample URL read three times, with a token and
    anonymously, and the read-only POSTs (paths-info, git fetch, LFS download batch): no 429."""
    world = build_world()
    repo, sha = make_repo(world, "public", name="reads")
    extra = {"org": ORG, "sha": sha, "fresh_name": lambda: f"new-{uuid.uuid4().hex[:8]}"}
    client = Client()
    token = world.headers("admin")
    basic = world.headers("admin", basic=True)
    refused = []
    for route in iter_routes():
        if route.startswith(ADMIN_PREFIX):
            continue
        path = rule_for(route).build(repo.url_path, repo.repo_id, repo.api_plural, extra)["path"]
        for headers in ({}, token, token):
            r = client.get(path, **headers)
            if r.status_code == 429:
                refused.append(f"GET {path}")
    posts = [(f"/api/{repo.api_plural}/{repo.repo_id}/paths-info/main", "paths=config.json",
              "application/x-www-form-urlencoded", token),
             (f"/{repo.url_path}.git/info/lfs/objects/batch",
              json.dumps({"operation": "download", "objects": [{"oid": "a" * 64, "size": 1}]}), LFS, basic),
             (f"/{repo.url_path}.git/git-upload-pack", b"0000", "application/x-git-upload-pack-request", basic)]
    for path, body, content_type, headers in posts * 3:
        if client.post(path, body, content_type=content_type, **headers).status_code == 429:
            refused.append(f"POST {path}")
    assert not refused, refused


@override_settings(HUB_RATE_LIMITS=OFF | {"auth_failure": f"3/{WINDOW}"})
def test_bad_tokens_lock_out_the_address_on_every_surface(alice) -> None:
    seeded_model(alice)
    good = TokenFactory(user=alice, name="w").secret
    client = Client()
    bad = {"HTTP_AUTHORIZATION": "Bearer hf_not_a_real_token", "REMOTE_ADDR": "203.0.113.9"}
    for _ in range(3):
        assert client.get("/api/whoami-v2", **bad).status_code == 401
    # Past the limit: refused before any lookup, even with a valid token, in each route's style.
    git_basic = "Basic " + base64.b64encode(f"git:{good}".encode()).decode()
    cases = {
        "/api/whoami-v2": ("application/json", f"Bearer {good}"),
        "/alice/tiny-bert.git/info/refs?service=git-upload-pack": ("text/plain", git_basic),
        "/alice/tiny-bert/resolve/main/config.json": ("application/json", f"Bearer {good}"),
    }
    for path, (content_type, header) in cases.items():
        r = client.get(path, HTTP_AUTHORIZATION=header, REMOTE_ADDR="203.0.113.9")
        assert r.status_code == 429, path
        assert r["Content-Type"].startswith(content_type) and int(r["Retry-After"]) > 0, path
        assert r["X-Error-Message"].startswith("Too many requests: the 'auth_failure' limit")
    # Other addresses, and anonymous reads from this one, are not affected.
    elsewhere = client.get("/api/whoami-v2", HTTP_AUTHORIZATION=f"Bearer {good}", REMOTE_ADDR="203.0.113.10")
    assert elsewhere.status_code == 200
    assert client.get("/api/models/alice/tiny-bert", REMOTE_ADDR="203.0.113.9").status_code == 200


def test_windows_reset_and_limits_parse(settings) -> None:
    settings.HUB_RATE_LIMITS = {"commit": "2/60"}
    assert [ratelimit.count("commit", "u", now=120.5).allowed for _ in range(3)] == [True, True, False]
    assert ratelimit.count("commit", "u", now=179.9).used == 4  # still the same window
    fresh = ratelimit.count("commit", "u", now=180.0)  # the next one
    assert fresh.used == 1 and fresh.reset == 60
    assert ratelimit.peek("commit", "u", now=181).used == 1 and ratelimit.peek("commit", "other", now=181).used == 0
    assert ratelimit.Limit.parse("off") is None and ratelimit.Limit.parse("5/10") == ratelimit.Limit(5, 10)
    settings.HUB_RATE_LIMITS = {"commit": "0"}
    assert ratelimit.count("commit", "u") is None


def test_a_bad_limit_in_the_environment_is_refused_at_startup(monkeypatch) -> None:
    from hub.settings.base import _rate_limit

    monkeypatch.setenv("HUB_RATE_LIMIT_COMMIT", "lots")
    with pytest.raises(ValueError, match="HUB_RATE_LIMIT_COMMIT"):
        _rate_limit("commit", "1/1")
    monkeypatch.setenv("HUB_RATE_LIMIT_COMMIT", "7/30")
    assert _rate_limit("commit", "1/1") == "7/30"


def test_a_limited_commit_leaves_the_repository_unchanged(alice) -> None:
    seeded_model(alice)
    token = TokenFactory(user=alice, name="w").secret
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    body = "\n".join(json.dumps(line) for line in [
        {"key": "header", "value": {"summary": "limited", "description": ""}},
        {"key": "file", "value": {"content": base64.b64encode(b"x").decode(), "path": "x.txt", "encoding": "base64"}},
    ])
    url = "/api/models/alice/tiny-bert/commit/main"
    with override_settings(HUB_RATE_LIMITS=OFF | {"commit": f"1/{WINDOW}"}):
        assert client.post(url, body, content_type="application/x-ndjson", **headers).status_code == 200
        tip = client.get("/api/models/alice/tiny-bert/revision/main", **headers).json()["sha"]
        assert client.post(url, body, content_type="application/x-ndjson", **headers).status_code == 429
        assert client.get("/api/models/alice/tiny-bert/revision/main", **headers).json()["sha"] == tip


def test_file_cache_counters_live_until_their_window_ends(settings, tmp_path) -> None:
    """The embedded default's file cache: a counter keeps counting across a pause longer than
    the cache's default timeout (300 s), up to the end of its window."""
    import pickle
    import time as clock

    from django.core.cache import caches

    settings.DATA_DIR = tmp_path
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                                   "LOCATION": str(tmp_path / "cache" / "django")}}
    settings.HUB_RATE_LIMITS = {"commit": "5/86400"}
    try:
        now = clock.time()
        window_end = (now // 86400 + 1) * 86400
        assert [ratelimit.count("commit", "u").used for _ in range(2)] == [1, 2]
        key = ratelimit._key("commit", "u", int(now // 86400))
        with open(caches["default"]._key_to_file(key), "rb") as f:
            expires = pickle.load(f)
        assert window_end <= expires <= window_end + 2
        assert (tmp_path / "cache" / "ratelimit.lock").exists()  # counted under the lock
    finally:
        caches["default"].clear()


def test_a_full_disk_under_the_counters_lets_requests_through(settings, monkeypatch, caplog) -> None:
    """The file cache on a full disk: the limiter logs and lets the request through (an LFS
    batch or a login writes nothing); any other failure of the store still raises."""
    import errno

    settings.HUB_RATE_LIMITS = {"commit": "1/60"}

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ratelimit, "_increment", full)
    assert ratelimit.count("commit", "u") is None
    assert "disk is full" in caplog.text

    def broken(*_args, **_kwargs):
        raise OSError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(ratelimit, "_increment", broken)
    with pytest.raises(OSError):
        ratelimit.count("commit", "u")
