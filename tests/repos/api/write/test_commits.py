"""Preupload and the NDJSON commit endpoint through the Django test client."""
from __future__ import annotations

import base64
import hashlib
import io
import json

import pytest
from django.conf import settings

from repos.api.commit_parser import parse_commit_payload, request_stream
from repos.handles import git_repo
from repos.models import Discussion, Repository
from tests.factories import LfsObjectFactory, RepositoryFactory, auth

pytestmark = pytest.mark.django_db

STALE = "The branch was updated since you opened this page. Please refresh and try again."


def head(repo, ref="main"):
    return git_repo(repo).resolve(ref)


def ndjson(*items) -> bytes:
    return b"".join(json.dumps(item).encode() + b"\n" for item in items)


def header(summary="Upload files", **extra):
    return {"key": "header", "value": {"summary": summary, "description": "", **extra}}


def file_op(path, content: bytes):
    return {"key": "file", "value": {"content": base64.b64encode(content).decode(), "path": path,
                                     "encoding": "base64"}}


def lfs_op(path, oid, size=None):
    value = {"path": path, "algo": "sha256", "oid": oid}
    if size is not None:
        value["size"] = size
    return {"key": "lfsFile", "value": value}


def commit(client, repo, body: bytes, token, rev="main", query=""):
    url = f"/api/{repo.api_plural}/{repo.repo_id}/commit/{rev}{query}"
    return client.post(url, data=body, content_type="application/x-ndjson", **auth(token))


def preupload(client, repo, files, token, rev="main", query="", **extra):
    url = f"/api/{repo.api_plural}/{repo.repo_id}/preupload/{rev}{query}"
    return client.post(url, data=json.dumps({"files": files, **extra}), content_type="application/json",
                       **auth(token))


def sample(data: bytes) -> str:
    return base64.b64encode(data[:512]).decode()


# ---------------------------------------------------------------------- commit: success


def test_commit_response_shape(client, tokens, repo):
    parent = head(repo)
    r = commit(client, repo, ndjson(header(parentCommit=parent), file_op("config.json", b'{"a": 1}\n')),
               tokens["alice"])
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["commitOid"] == head(repo) != parent
    assert body["commitUrl"] == f"{settings.PUBLIC_URL}/alice/{repo.name}/commit/{body['commitOid']}"
    assert body["success"] is True and "pullRequestUrl" not in body


def test_commit_to_dataset_url_has_prefix(client, tokens, alice):
    ds = RepositoryFactory(owner=alice, name="ds", repo_type="dataset")
    r = commit(client, ds, ndjson(header(), file_op("data.csv", b"a,b\n")), tokens["alice"])
    assert r.json()["commitUrl"].startswith(f"{settings.PUBLIC_URL}/datasets/alice/ds/commit/")


def test_commit_lfs_delete_and_copy(client, tokens, repo):
    oid = LfsObjectFactory(repo=repo, data=b"\0" * 1024).oid
    r = commit(client, repo, ndjson(header(), lfs_op("model.safetensors", oid, 1024), file_op("old.txt", b"x")),
               tokens["alice"])
    assert r.status_code == 200, r.content
    r = commit(client, repo, ndjson(header(), {"key": "deletedFile", "value": {"path": "old.txt"}},
                                    lfs_op("copy.safetensors", oid)), tokens["alice"])
    assert r.status_code == 200, r.content
    git = git_repo(repo)
    assert git.get_entry(head(repo), "old.txt") is None
    assert git.get_entry(head(repo), "copy.safetensors").oid == "abc8240e440587e9d4b59102163573492833ac8a"


def test_create_pr_by_reader(client, tokens, repo):
    base = head(repo)
    r = commit(client, repo, ndjson(header("Suggest"), file_op("s.txt", b"s")), tokens["bob"], query="?create_pr=1")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["pullRequestUrl"] == f"{settings.PUBLIC_URL}/alice/{repo.name}/discussions/1"
    assert head(repo) == base
    assert head(repo, "refs/pr/1") == body["commitOid"]
    pr = Discussion.objects.get(repository=repo, num=1)
    assert pr.author.username == "bob" and pr.status == "draft" and pr.is_pull_request
    # The author may push more commits to the PR (revision arrives as refs%2Fpr%2F1).
    r = commit(client, repo, ndjson(header(), file_op("t.txt", b"t")), tokens["bob"], rev="refs%2Fpr%2F1")
    assert r.status_code == 200, r.content
    assert head(repo, "refs/pr/1") == r.json()["commitOid"]
    assert "pullRequestUrl" not in r.json()


def test_pr_ref_rules(client, tokens, repo, bob):
    commit(client, repo, ndjson(header(), file_op("a.txt", b"a")), tokens["alice"], query="?create_pr=1")
    # Someone else's PR: bob is neither its author nor a writer.
    r = commit(client, repo, ndjson(header(), file_op("b.txt", b"b")), tokens["bob"], rev="refs%2Fpr%2F1")
    assert r.status_code == 403
    # Writers may push to any open PR; closed PRs take no commits; unknown PRs do not exist.
    pr_head = head(repo, "refs/pr/1")
    Discussion.objects.filter(repository=repo, num=1).update(status="closed")
    r = commit(client, repo, ndjson(header(), file_op("b.txt", b"b")), tokens["alice"], rev="refs%2Fpr%2F1")
    assert r.status_code == 400
    r = commit(client, repo, ndjson(header(), file_op("b.txt", b"b")), tokens["alice"], rev="refs%2Fpr%2F9")
    assert r.status_code == 404 and r["X-Error-Code"] == "RevisionNotFound"
    assert head(repo, "refs/pr/1") == pr_head


def test_create_pr_with_read_token_or_anonymously(client, tokens, repo):
    body = ndjson(header(), file_op("a.txt", b"a"))
    assert commit(client, repo, body, tokens["alice_read"], query="?create_pr=1").status_code == 403
    assert commit(client, repo, body, None, query="?create_pr=1").status_code == 401
    assert not Discussion.objects.exists()


# ---------------------------------------------------------------------- commit: authorization


def test_commit_rights(client, tokens, repo):
    body = ndjson(header(), file_op("a.txt", b"a"))
    before = head(repo)
    assert commit(client, repo, body, None).status_code == 401
    assert commit(client, repo, body, tokens["bob"]).status_code == 403
    assert commit(client, repo, body, tokens["alice_read"]).status_code == 403
    Repository.objects.filter(pk=repo.pk).update(private=True)
    r = commit(client, repo, body, tokens["bob"])
    assert r.status_code == 404 and r["X-Error-Code"] == "RepoNotFound"
    assert head(repo) == before


# ---------------------------------------------------------------------- commit: bad input


def _bad(client, tokens, repo, body, status, code=None, rev="main"):
    before = head(repo)
    r = commit(client, repo, body, tokens["alice"], rev=rev)
    assert r.status_code == status, r.content
    assert r.get("X-Error-Code") == code
    assert r["X-Error-Message"] and "error" in r.json()
    assert head(repo) == before
    return r


@pytest.mark.parametrize("body", [
    ndjson(header(), file_op("a.txt", b"a")) + b"{not json\n",
    ndjson(header(), {"key": "copyFile", "value": {"path": "a.txt"}}),
    ndjson(header(), {"key": "file", "value": {"path": "a.txt", "content": "***", "encoding": "base64"}}),
    ndjson(header(), {"key": "file", "value": {"path": "a.txt", "content": "YQ==", "encoding": "utf-8"}}),
    ndjson(header(), {"key": "file", "value": {"path": 7, "content": "YQ=="}}),
    ndjson(header(), header()),
    ndjson(header(), ["key", "file"]),
    ndjson(header(), {"key": "lfsFile", "value": {"path": "m.bin", "oid": "0" * 64, "size": -1}}),
    ndjson(file_op("a.txt", b"a")),
    ndjson({"key": "header", "value": {"summary": ""}}),
    ndjson({"key": "header", "value": {"description": "no summary"}}),
    b"",
    b"\n\n",
    ndjson(header()) + b"[" * 100_000 + b"\n",
])
def test_malformed_payloads_are_400(client, tokens, repo, body):
    _bad(client, tokens, repo, body, 400)


@pytest.mark.parametrize("path", ["../x", "a/../../x", "//abs", "a\x00b", ".git/config", "x/.git/hooks/post-update"])
def test_bad_paths_are_422(client, tokens, repo, path):
    _bad(client, tokens, repo, ndjson(header(), file_op("ok.txt", b"ok"), file_op(path, b"x")), 422)


def test_lfs_object_never_uploaded(client, tokens, repo):
    r = _bad(client, tokens, repo, ndjson(header(), lfs_op("m.bin", hashlib.sha256(b"nope").hexdigest(), 4)), 422)
    assert "LFS pointer pointed to a file that does not exist" in r.json()["error"]


def test_lfs_wrong_size(client, tokens, repo):
    oid = LfsObjectFactory(repo=repo, data=b"12345").oid
    _bad(client, tokens, repo, ndjson(header(), lfs_op("m.bin", oid, 99)), 422)


def test_stale_parent_commit_is_412(client, tokens, repo):
    old = head(repo)
    commit(client, repo, ndjson(header(), file_op("a.txt", b"a")), tokens["alice"])
    r = _bad(client, tokens, repo, ndjson(header(parentCommit=old), file_op("b.txt", b"b")), 412)
    assert r["X-Error-Message"] == STALE


def test_delete_missing_file_is_entry_not_found(client, tokens, repo):
    r = _bad(client, tokens, repo, ndjson(header(), {"key": "deletedFile", "value": {"path": "ghost.txt"}}), 404,
             "EntryNotFound")
    assert "A file with this name doesn't exist" in r["X-Error-Message"]


@pytest.mark.parametrize("rev", ["--upload-pack=touch%20%2Ftmp%2Fpwned", "-x", "nope", "main..HEAD", "HEAD%40%7B1%7D",
                                 "0" * 40])
def test_unusable_revisions(client, tokens, repo, rev):
    _bad(client, tokens, repo, ndjson(header(), file_op("a.txt", b"a")), 404, "RevisionNotFound", rev=rev)


def test_commit_to_sha_is_revision_not_found(client, tokens, repo):
    _bad(client, tokens, repo, ndjson(header(), file_op("a.txt", b"a")), 404, "RevisionNotFound", rev=head(repo))


def test_oversize_regular_file_is_400(client, tokens, repo):
    r = _bad(client, tokens, repo, ndjson(header(), file_op("big.txt", b"a" * (10 * 1024 * 1024 + 1))), 400)
    assert "10 MiB" in r.json()["error"]


def test_binary_regular_file_over_1mib_is_400(client, tokens, repo):
    _bad(client, tokens, repo, ndjson(header(), file_op("w.bin", b"\0" * (1024 * 1024 + 10))), 400)


def test_busy_repo_is_409(client, tokens, repo, settings):
    import threading

    from repos.git.lock import repo_lock

    settings.HUB_REPO_LOCK_TIMEOUT = 0.1
    locked, release = threading.Event(), threading.Event()

    def hold():
        with repo_lock(repo.git_dir, 5):
            locked.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert locked.wait(5)
        _bad(client, tokens, repo, ndjson(header(), file_op("a.txt", b"a")), 409)
    finally:
        release.set()
        thread.join(10)


# ---------------------------------------------------------------------- parser details


def test_line_cap_and_body_cap():
    from hub.exceptions import BadRequest, PayloadTooLarge

    body = ndjson(header(), file_op("a.txt", b"a" * 300))
    with pytest.raises(BadRequest):
        _, ops = parse_commit_payload(io.BytesIO(body), max_line=200)
        list(ops)
    with pytest.raises(PayloadTooLarge):
        _, ops = parse_commit_payload(io.BytesIO(body), max_body=300)
        list(ops)


def test_chunked_body_is_read_from_wsgi_input(rf):
    body = ndjson(header("chunked"), {"key": "deletedFile", "value": {"path": "x"}})
    request = rf.post("/api/models/a/b/commit/main", data=b"", content_type="application/x-ndjson")
    request.META.pop("CONTENT_LENGTH", None)
    request.META["wsgi.input_terminated"] = True
    request.META["wsgi.input"] = io.BytesIO(body)
    head_, ops = parse_commit_payload(request_stream(request))
    assert head_.summary == "chunked" and [op.path for op in ops] == ["x"]


# ---------------------------------------------------------------------- preupload


def test_preupload_modes_ignore_and_oids(client, tokens, repo):
    oid = LfsObjectFactory(repo=repo, data=b"\0" * 1024).oid
    commit(client, repo, ndjson(header(), file_op("config.json", b'{"model_type": "bert"}\n'),
                                file_op(".gitignore", b"*.log\n"), lfs_op("model.safetensors", oid, 1024)),
           tokens["alice"])
    binary = b"\0\xff" * (600 * 1024)
    files = [
        {"path": "config.json", "sample": sample(b'{"model_type": "bert"}\n'), "size": 23},
        {"path": "model.safetensors", "sample": sample(b"\0" * 1024), "size": 1024},
        {"path": "weights.dat", "sample": sample(binary), "size": len(binary)},
        {"path": "notes.txt", "sample": sample(b"hello"), "size": 11 * 1024 * 1024},
        {"path": "empty.bin", "sample": "", "size": 0},
        {"path": "train.log", "sample": sample(b"x"), "size": 1},
    ]
    r = preupload(client, repo, files, tokens["alice"])
    assert r.status_code == 200, r.content
    got = {f["path"]: f for f in r.json()["files"]}
    assert [f["path"] for f in r.json()["files"]] == [f["path"] for f in files]
    assert got["config.json"] == {"path": "config.json", "uploadMode": "regular", "shouldIgnore": False,
                                  "oid": "dc1fb7b6703fe03317c1a080b523bf475f3d4818"}
    assert got["model.safetensors"]["uploadMode"] == "lfs" and got["model.safetensors"]["oid"] == oid
    assert got["weights.dat"]["uploadMode"] == "lfs"
    assert got["notes.txt"]["uploadMode"] == "lfs"
    assert got["empty.bin"]["uploadMode"] == "regular"
    assert got["train.log"]["shouldIgnore"] is True and got["config.json"]["shouldIgnore"] is False
    assert got["notes.txt"]["oid"] is None
    # A .gitignore uploaded in the same commit replaces the repository's.
    r = preupload(client, repo, files[-1:], tokens["alice"], gitIgnore="*.txt\n")
    assert r.json()["files"][0]["shouldIgnore"] is False


def test_preupload_rights(client, tokens, repo):
    files = [{"path": "a.txt", "sample": sample(b"a"), "size": 1}]
    assert preupload(client, repo, files, tokens["bob"]).status_code == 403
    assert preupload(client, repo, files, tokens["bob"], query="?create_pr=1").status_code == 200
    assert preupload(client, repo, files, tokens["alice_read"]).status_code == 403
    assert preupload(client, repo, files, None).status_code == 401
    Repository.objects.filter(pk=repo.pk).update(private=True)
    r = preupload(client, repo, files, tokens["bob"], query="?create_pr=1")
    assert r.status_code == 404 and r["X-Error-Code"] == "RepoNotFound"


def test_preupload_bad_input(client, tokens, repo):
    ok = [{"path": "a.txt", "sample": sample(b"a"), "size": 1}]
    r = preupload(client, repo, ok, tokens["alice"], rev="nope")
    assert r.status_code == 404 and r["X-Error-Code"] == "RevisionNotFound"
    assert preupload(client, repo, [{"path": "../x", "sample": "", "size": 1}], tokens["alice"]).status_code == 422
    assert preupload(client, repo, [{"path": "a", "size": -1}], tokens["alice"]).status_code == 400
    assert preupload(client, repo, ["a"], tokens["alice"]).status_code == 400
    r = client.post(f"/api/models/{repo.repo_id}/preupload/main", data=b"[", content_type="application/json",
                    **auth(tokens["alice"]))
    assert r.status_code == 400


def test_session_commit_needs_csrf_token(tokens, repo, alice):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    before = head(repo)
    r = commit(browser, repo, ndjson(header(), file_op("a.txt", b"a")), None)
    assert r.status_code == 403 and head(repo) == before
    # The same browser with a bearer token is a client, not a session: no CSRF involved.
    r = commit(browser, repo, ndjson(header(), file_op("a.txt", b"a")), tokens["alice"])
    assert r.status_code == 200
