"""The git/LFS views' refusals through Django's test client (no server, no git client)."""
from __future__ import annotations

import hashlib
import json
import time

import pytest
from django.test import Client

from repos.transport.lfs_http import download_href, upload_href, verify_href
from tests.factories import LfsObjectFactory, RepositoryFactory, TokenFactory, auth

pytestmark = pytest.mark.django_db
LFS = "application/vnd.git-lfs+json"


@pytest.fixture
def setup(alice, bob):
    public = RepositoryFactory(owner=alice, name="pub")
    private = RepositoryFactory(owner=alice, name="priv", private=True)
    return {
        "public": public, "private": private,
        "alice": TokenFactory(user=alice, name="t").secret,
        "alice_ro": TokenFactory(user=alice, name="t", role="read").secret,
        "bob": TokenFactory(user=bob, name="t").secret,
    }


@pytest.mark.parametrize("who, path, status", [
    (None, "/alice/priv.git/info/refs?service=git-upload-pack", 401),
    ("bob", "/alice/priv.git/info/refs?service=git-upload-pack", 404),
    ("bob", "/alice/missing/info/refs?service=git-upload-pack", 404),
    (None, "/alice/missing/info/refs?service=git-upload-pack", 401),
    (None, "/alice/pub/info/refs?service=git-receive-pack", 401),
    ("alice_ro", "/alice/pub/info/refs?service=git-receive-pack", 403),
    ("alice", "/alice/pub/info/refs", 403),
    ("alice", "/datasets/alice/pub/info/refs?service=git-upload-pack", 404),
])
def test_git_refusals(setup, who, path, status):
    response = Client().get(path, **auth(setup.get(who)))
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/plain")
    if status == 401:
        assert response["WWW-Authenticate"].startswith("Basic")
    if status == 404:
        assert response["X-Error-Code"] == "RepoNotFound"
        assert response.content == b"Repository not found\n"


def test_git_rpc_method_and_content_type(setup):
    c = Client()
    assert c.get("/alice/pub/git-upload-pack").status_code == 405
    assert c.post("/alice/pub/git-upload-pack", b"0000", content_type="text/plain").status_code == 415
    response = c.post("/alice/pub/git-upload-pack", b"0000", content_type="application/x-git-upload-pack-request",
                      HTTP_CONTENT_ENCODING="br")
    assert response.status_code == 400


def _batch(c, path, payload, token=None):
    return c.post(path, json.dumps(payload), content_type=LFS, **auth(token))


def test_lfs_batch_and_transfers(setup, settings):
    c = Client()
    data = b"x" * 1000
    oid, size = hashlib.sha256(data).hexdigest(), len(data)
    path = "/alice/pub.git/info/lfs/objects/batch"
    up = {"operation": "upload", "objects": [{"oid": oid, "size": size}], "ref": {"name": "main"}}
    assert _batch(c, path, up).status_code == 401
    assert _batch(c, path, up, setup["alice_ro"]).status_code == 403
    assert _batch(c, "/alice/priv.git/info/lfs/objects/batch", up, setup["bob"]).status_code == 404
    bad = _batch(c, path, {"operation": "upload", "objects": [{"oid": oid, "size": -1}]}, setup["alice"])
    assert bad.status_code == 422 and bad["Content-Type"] == LFS and "message" in json.loads(bad.content)
    assert c.post(path, b"{not json", content_type=LFS, **auth(setup["alice"])).status_code == 422
    huge = _batch(c, path, {**up, "objects": [{"oid": oid, "size": 60 * 1000**3}]}, setup["alice"])
    assert json.loads(huge.content)["objects"][0]["error"]["code"] == 422

    repo = setup["public"]
    uploader = f"{repo.owner_id}.0.write"  # alice in a browser session
    href = upload_href(repo, oid, size, principal=uploader)
    rel = href[len(settings.PUBLIC_URL):]
    assert c.put(rel, data[:-1], content_type="application/octet-stream").status_code == 422  # length
    assert c.put(rel, data[:-1] + b"y", content_type="application/octet-stream").status_code == 422  # hash
    expired = upload_href(repo, oid, size, principal=uploader, now=int(time.time()) - 7200)[len(settings.PUBLIC_URL):]
    assert c.put(expired, data, content_type="application/octet-stream").status_code == 403
    assert c.post(rel, data, content_type="application/octet-stream").status_code == 405
    assert c.put(rel, data, content_type="application/octet-stream").status_code == 200

    verify = verify_href(repo)[len(settings.PUBLIC_URL):]
    assert c.post(verify, json.dumps({"oid": oid, "size": size}), content_type=LFS).status_code == 200
    other_repo_verify = verify_href(setup["private"])[len(settings.PUBLIC_URL):].replace("alice/priv", "alice/pub")
    assert c.post(other_repo_verify, json.dumps({"oid": oid, "size": size}), content_type=LFS).status_code == 401

    down = download_href(repo, oid)[len(settings.PUBLIC_URL):]
    response = c.get(down)
    assert response.status_code == 200 and b"".join(response.streaming_content) == data
    assert c.get(down.replace("token=", "token=x")).status_code == 401
    # Without a token: credentials that can read the repository.
    plain = f"/alice/pub.git/info/lfs/objects/{oid}"
    assert c.get(plain).status_code == 200
    assert c.get(f"/alice/priv.git/info/lfs/objects/{oid}", **auth(setup["alice"])).status_code == 404


def test_lfs_objects_are_per_repository(setup):
    data = b"secret weights"
    oid = LfsObjectFactory(repo=setup["private"], data=data).oid
    c = Client()
    down = {"operation": "download", "objects": [{"oid": oid, "size": len(data)}]}
    body = json.loads(_batch(c, "/alice/pub.git/info/lfs/objects/batch", down).content)
    assert body["objects"][0]["error"]["code"] == 404
    assert c.get(f"/alice/pub.git/info/lfs/objects/{oid}").status_code == 404
    body = json.loads(_batch(c, "/alice/priv.git/info/lfs/objects/batch", down, setup["alice"]).content)
    assert "download" in body["objects"][0]["actions"]
