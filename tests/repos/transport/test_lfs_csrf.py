"""The LFS JSON endpoints apply the session CSRF rule (`hub.http.api.enforce_session_csrf`).

git-lfs and huggingface_hub authenticate with tokens (or not at all); only a browser sends the
session cookie, and a page of another origin could make it POST a batch. Session requests must
carry the CSRF token; token and anonymous requests are exempt.
"""
from __future__ import annotations

import json

import pytest
from django.test import Client

from accounts.services.tokens import token_create
from repos.services.repos import repo_create
from repos.transport.lfs_http import verify_href

pytestmark = pytest.mark.django_db
LFS = "application/vnd.git-lfs+json"
OID = "b" * 64


@pytest.fixture
def repo(alice):
    return repo_create(user=alice, namespace="alice", name="lfs-csrf")


def _batch(operation: str) -> str:
    return json.dumps({"operation": operation, "transfers": ["basic"], "ref": {"name": "refs/heads/main"},
                       "objects": [{"oid": OID, "size": 3}]})


ENDPOINTS = [
    ("/alice/lfs-csrf.git/info/lfs/objects/batch", _batch("upload")),
    ("/alice/lfs-csrf.git/info/lfs/objects/batch", _batch("download")),
    ("/alice/lfs-csrf.git/info/lfs/objects/verify", json.dumps({"oid": OID, "size": 3})),
    ("/alice/lfs-csrf.git/info/lfs/locks/verify", json.dumps({"ref": {"name": "refs/heads/main"}})),
    ("/alice/lfs-csrf.git/info/lfs/locks", json.dumps({"path": "a.bin"})),
]


def _browser(user) -> Client:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    browser.get("/")  # sets the CSRF cookie, as any page would
    return browser


@pytest.mark.parametrize("path, body", ENDPOINTS)
def test_session_without_csrf_token_is_refused(repo, alice, path, body):
    browser = _browser(alice)
    r = browser.post(path, body, content_type=LFS, HTTP_ORIGIN="https://evil.example")
    assert r.status_code == 403, r.content
    assert r["Content-Type"] == LFS and r["X-Error-Message"] == "CSRF verification failed"
    r = browser.post(path, body, content_type=LFS)  # same origin, but no token
    assert r.status_code == 403


@pytest.mark.parametrize("path, body", ENDPOINTS)
def test_session_with_csrf_token_token_and_anonymous_requests_pass_the_check(repo, alice, path, body):
    browser = _browser(alice)
    csrf = browser.cookies["csrftoken"].value
    expected_after_check = {"/alice/lfs-csrf.git/info/lfs/objects/verify": 404,  # no such object
                            "/alice/lfs-csrf.git/info/lfs/locks": 501}.get(path, 200)
    r = browser.post(path, body, content_type=LFS, HTTP_X_CSRFTOKEN=csrf)
    assert r.status_code == expected_after_check, r.content
    token = token_create(user=alice, name="w", role="write")[1]
    r = Client(enforce_csrf_checks=True).post(path, body, content_type=LFS, HTTP_AUTHORIZATION=f"Bearer {token}",
                                              HTTP_ORIGIN="https://evil.example")
    assert r.status_code == expected_after_check, r.content
    r = Client(enforce_csrf_checks=True).post(path, body, content_type=LFS, HTTP_ORIGIN="https://evil.example")
    assert r.status_code != 403 or r["X-Error-Message"] != "CSRF verification failed"


def test_signed_verify_href_needs_no_csrf_token(repo, alice):
    browser = _browser(alice)
    r = browser.post(verify_href(repo), json.dumps({"oid": OID, "size": 3}), content_type=LFS,
                     HTTP_ORIGIN="https://evil.example")
    assert r.status_code == 404  # the signature is the credential: past every check, no such object
