"""/resolve/: headers of §5.2, ranges, every error on HEAD and GET, hidden == missing."""
from __future__ import annotations

import pytest

from repos.models import RepoRedirect
from tests.factories import (
    CONFIG,
    CONFIG_OID,
    ZEROS_SHA256,
    LfsObjectFactory,
    RepositoryFactory,
    bearer,
    commit,
    seeded_model,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(alice):
    return seeded_model(alice)


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.parametrize("method", ["head", "get"])
def test_regular_file_headers(client, seeded, method):
    r = getattr(client, method)("/alice/tiny-bert/resolve/main/config.json")
    assert r.status_code == 200
    assert r["X-Repo-Commit"] == seeded.sha
    assert r["ETag"] == r["X-Linked-Etag"] == f'"{CONFIG_OID}"'
    assert r["X-Linked-Size"] == r["Content-Length"] == str(len(CONFIG))
    assert r["Accept-Ranges"] == "bytes"
    assert r["Content-Type"] == "application/json; charset=utf-8"
    assert r["X-Content-Type-Options"] == "nosniff"
    assert "X-Xet-Hash" not in r
    if method == "get":
        assert body(r) == CONFIG


def test_head_and_get_have_identical_headers(client, seeded):
    for path in ("config.json", "model.safetensors"):
        head = client.head(f"/alice/tiny-bert/resolve/main/{path}")
        get = client.get(f"/alice/tiny-bert/resolve/main/{path}")
        skip = {"Vary", "X-Request-Id"}
        assert {k: v for k, v in head.items() if k not in skip} == {k: v for k, v in get.items() if k not in skip}


@pytest.mark.parametrize("method", ["head", "get"])
def test_lfs_file_served_from_store(client, seeded, method):
    r = getattr(client, method)(f"/alice/tiny-bert/resolve/{seeded.sha}/model.safetensors?download=true")
    assert r.status_code == 200
    assert r["X-Repo-Commit"] == seeded.sha
    assert r["ETag"] == r["X-Linked-Etag"] == f'"{ZEROS_SHA256}"'
    assert r["X-Linked-Size"] == r["Content-Length"] == "1024"
    assert r["Content-Disposition"] == 'attachment; filename="model.safetensors"'
    if method == "get":
        assert r.streaming and body(r) == bytes(1024)


def test_nested_path_and_branch_with_slash(client, alice, seeded):
    commit(seeded.repo, files={"a/b.txt": b"on feature"}, ref="feature/x", create=True)
    r = client.get("/alice/tiny-bert/resolve/feature/x/a/b.txt")
    assert r.status_code == 200 and body(r) == b"on feature"
    assert r["Content-Type"] == "text/plain; charset=utf-8"
    r = client.get("/alice/tiny-bert/resolve/main/tokenizer/vocab.txt")
    assert body(r) == b"a\nb\n"


def test_pr_ref_revision(client, seeded):
    commit(seeded.repo, files={"pr.txt": b"pr"}, ref="refs/pr/1", create=True)
    assert body(client.get("/alice/tiny-bert/resolve/refs/pr/1/pr.txt")) == b"pr"


@pytest.mark.parametrize("method", ["head", "get"])
@pytest.mark.parametrize("path", ["missing.json", "tokenizer", "../config.json", "a//b", ""])
def test_missing_entry_has_code_and_commit(client, seeded, method, path):
    r = getattr(client, method)(f"/alice/tiny-bert/resolve/main/{path}")
    assert r.status_code == 404
    assert r["X-Error-Code"] == "EntryNotFound"
    assert r["X-Repo-Commit"] == seeded.sha
    assert r["X-Error-Message"]


@pytest.mark.parametrize("method", ["head", "get"])
def test_missing_revision(client, seeded, method):
    r = getattr(client, method)("/alice/tiny-bert/resolve/nope/config.json")
    assert r.status_code == 404 and r["X-Error-Code"] == "RevisionNotFound"


@pytest.mark.parametrize("method", ["head", "get"])
def test_private_repo_looks_missing(client, alice, bob, method):
    seeded_model(alice, "secret", private=True)
    fetch = getattr(client, method)
    bob_token = bearer(bob)
    # Same principal, hidden vs missing: identical status, body and headers.
    for headers in ({}, bob_token):
        missing = fetch("/alice/does-not-exist/resolve/main/config.json", **headers)
        hidden = fetch("/alice/secret/resolve/main/config.json", **headers)
        assert hidden.status_code == missing.status_code == 404
        assert hidden["X-Error-Code"] == "RepoNotFound"
        assert hidden.content == missing.content
        # Only the per-request id differs (hub/http/request_id.py).
        assert ({k: v for k, v in hidden.items() if k != "X-Request-Id"}
                == {k: v for k, v in missing.items() if k != "X-Request-Id"})
        assert "X-Repo-Commit" not in hidden
    owner = fetch("/alice/secret/resolve/main/config.json", **bearer(alice, "read"))
    assert owner.status_code == 200


def test_dataset_prefix(client, alice):
    repo = RepositoryFactory(owner=alice, name="ds", repo_type="dataset")
    commit(repo, files={"data/train.csv": b"a,b\n1,2\n"})
    r = client.get("/datasets/alice/ds/resolve/main/data/train.csv")
    assert r.status_code == 200 and body(r) == b"a,b\n1,2\n"
    # The same id as a model does not exist.
    assert client.head("/alice/ds/resolve/main/data/train.csv")["X-Error-Code"] == "RepoNotFound"


def test_moved_repo_redirects_relatively(client, seeded):
    RepoRedirect.objects.create(repo_type="model", namespace="alice", name="old-name", repository=seeded.repo)
    for method in ("head", "get"):
        r = getattr(client, method)("/alice/old-name/resolve/main/config.json?x=1")
        assert r.status_code == 307
        assert r["Location"] == "/alice/tiny-bert/resolve/main/config.json?x=1"
    assert body(client.get("/alice/old-name/resolve/main/config.json", follow=True)) == CONFIG


@pytest.mark.parametrize("method", ["head", "get"])
def test_lfs_object_not_linked_to_repo(client, alice, method):
    seeded = seeded_model(alice)
    # The object exists in the store (uploaded elsewhere) but was never uploaded to this repo.
    commit(seeded.repo, lfs={"stolen.bin": b"someone else's weights"}, link_lfs=False)
    r = getattr(client, method)("/alice/tiny-bert/resolve/main/stolen.bin")
    assert r.status_code == 404 and r["X-Error-Code"] == "EntryNotFound"
    assert "X-Repo-Commit" in r


def test_lfs_object_missing_from_store(client, alice):
    seeded = seeded_model(alice)
    oid = LfsObjectFactory(repo=seeded.repo, data=b"soon gone").oid
    from repos.lfs.pointer import format_pointer
    from repos.objects import storage_backend

    commit(seeded.repo, files={"gone.bin": format_pointer(oid, 9)})
    storage_backend().delete(oid)
    r = client.get("/alice/tiny-bert/resolve/main/gone.bin")
    assert r.status_code == 404 and r["X-Error-Code"] == "EntryNotFound"


@pytest.mark.parametrize(("header", "status", "content_range", "expected"), [
    ("bytes=0-4", 206, "bytes 0-4/23", CONFIG[0:5]),
    ("bytes=5-", 206, "bytes 5-22/23", CONFIG[5:]),
    ("bytes=-3", 206, "bytes 20-22/23", CONFIG[-3:]),
    ("bytes=10-9999", 206, "bytes 10-22/23", CONFIG[10:]),
    ("bytes=-100", 206, "bytes 0-22/23", CONFIG),
    ("bytes=0-1,4-5", 200, None, CONFIG),
    ("items=0-1", 200, None, CONFIG),
])
def test_ranges_on_regular_file(client, seeded, header, status, content_range, expected):
    r = client.get("/alice/tiny-bert/resolve/main/config.json", HTTP_RANGE=header)
    assert r.status_code == status
    assert r.get("Content-Range") == content_range
    assert r["Content-Length"] == str(len(expected))
    assert r["X-Linked-Size"] == "23"
    assert body(r) == expected


def test_ranges_on_lfs_file(client, alice):
    seeded = seeded_model(alice)
    data = bytes(range(256)) * 8
    commit(seeded.repo, lfs={"w.safetensors": data})
    url = "/alice/tiny-bert/resolve/main/w.safetensors"
    r = client.get(url, HTTP_RANGE="bytes=100-199")
    assert r.status_code == 206 and r["Content-Range"] == "bytes 100-199/2048"
    assert body(r) == data[100:200]
    r = client.head(url, HTTP_RANGE="bytes=2000-")
    assert r.status_code == 206 and r["Content-Length"] == "48"
    r = client.get(url, HTTP_RANGE="bytes=2048-")
    assert r.status_code == 416 and r["Content-Range"] == "bytes */2048"
    assert r["X-Repo-Commit"]


def test_range_start_past_end_is_416_on_head_too(client, seeded):
    r = client.head("/alice/tiny-bert/resolve/main/config.json", HTTP_RANGE="bytes=23-30")
    assert r.status_code == 416
    assert r["Content-Range"] == "bytes */23"


def test_if_range_mismatch_sends_everything(client, seeded):
    r = client.get("/alice/tiny-bert/resolve/main/config.json", HTTP_RANGE="bytes=0-1", HTTP_IF_RANGE='"other"')
    assert r.status_code == 200 and body(r) == CONFIG
    r = client.get("/alice/tiny-bert/resolve/main/config.json", HTTP_RANGE="bytes=0-1",
                   HTTP_IF_RANGE=f'"{CONFIG_OID}"')
    assert r.status_code == 206


def test_active_content_is_inert(client, alice):
    seeded = seeded_model(alice)
    commit(seeded.repo, files={"x.html": b"<script>alert(1)</script>", "x.svg": b"<svg onload=alert(1)/>"})
    for name, ctype in (("x.html", "text/html; charset=utf-8"), ("x.svg", "image/svg+xml")):
        r = client.get(f"/alice/tiny-bert/resolve/main/{name}")
        assert r["Content-Type"] == ctype
        assert r["Content-Disposition"].startswith("attachment;")
        assert "sandbox" in r["Content-Security-Policy"]
        assert r["X-Content-Type-Options"] == "nosniff"


@pytest.mark.postgres  # the query budget must hold on both engines
def test_resolve_head_query_count(client, alice, django_assert_max_num_queries):
    seeded_model(alice)
    headers = bearer(alice)
    client.head("/alice/tiny-bert/resolve/main/config.json", **headers)  # warm the token's last_used_at
    for path in ("config.json", "model.safetensors", "missing"):
        with django_assert_max_num_queries(3):
            client.head(f"/alice/tiny-bert/resolve/main/{path}", **headers)


def test_invalid_token_is_401(client, seeded):
    r = client.head("/alice/tiny-bert/resolve/main/config.json", HTTP_AUTHORIZATION="Bearer hf_nope")
    assert r.status_code == 401
    assert r["X-Error-Message"] == "Invalid credentials in Authorization header"


def test_post_is_refused(client, seeded):
    assert client.post("/alice/tiny-bert/resolve/main/config.json").status_code == 405
