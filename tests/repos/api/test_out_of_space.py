"""A full disk answers 507 with HF error headers on every write path, nothing half-written.

Fast, in-process: the failure is injected where the disk is written (libgit2's OSError and
GitError, an ENOSPC from a file write, SQLite's "database or disk is full"). The real thing,
a full tmpfs under a live hub, is `tests/ops/test_disk_full.py`.
"""
from __future__ import annotations

import errno
import hashlib

import pygit2
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError
from django.test import Client, RequestFactory

from hub.exceptions import HubError, InsufficientStorage, out_of_space
from repos.handles import git_repo
from repos.objects import storage_backend
from repos.transport.lfs_http import upload_href
from tests.factories import auth
from tests.repos.api.write.test_commits import commit, file_op, head, header, ndjson

pytestmark = pytest.mark.django_db

LIBGIT2_FULL = "failed to write out file: No space left on device"


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def _assert_507(response, style="json"):
    assert response.status_code == 507, response.content
    if style != "html":
        assert response["X-Error-Message"].startswith("Insufficient storage")


@pytest.mark.parametrize("exc", [
    OSError(errno.ENOSPC, "No space left on device"),
    OSError(errno.EDQUOT, "Disk quota exceeded"),
    OSError(LIBGIT2_FULL),
    pygit2.GitError("failed to write reference 'refs/heads/main': No space left on device"),
    OperationalError("database or disk is full"),
])
def test_out_of_space_is_recognized_through_wrappers(exc):
    assert out_of_space(exc)
    try:
        try:
            raise exc
        except Exception as inner:
            raise RuntimeError("Could not update refs/heads/main") from inner
    except RuntimeError as outer:
        assert out_of_space(outer)
    assert not out_of_space(OSError(errno.EACCES, "Permission denied"))
    assert not out_of_space(HubError("user text: No space left on device"))


def test_api_commit(client, repo, tokens, monkeypatch):
    before = head(repo)
    monkeypatch.setattr("repos.services.commits.write_blob", lambda *a: (_ for _ in ()).throw(OSError(LIBGIT2_FULL)))
    _assert_507(commit(client, repo, ndjson(header(), file_op("a.txt", b"a")), tokens["alice"]))
    assert head(repo) == before


def test_api_commit_when_the_ref_cannot_be_written(client, repo, tokens, monkeypatch):
    before = head(repo)

    def full(*args, **kwargs):
        raise pygit2.GitError("failed to write reference 'refs/heads/main': No space left on device")

    monkeypatch.setattr("repos.git.commit.update_ref", full)
    _assert_507(commit(client, repo, ndjson(header(), file_op("a.txt", b"a")), tokens["alice"]))
    assert head(repo) == before


@pytest.mark.parametrize("url, body", [
    ("/api/models/{id}/branch/dev", b"{}"),
    ("/api/models/{id}/tag/main", b'{"tag": "v1"}'),
    ("/api/models/{id}/super-squash/main", b"{}"),
])
def test_branch_tag_and_squash(client, repo, tokens, monkeypatch, url, body):
    def full(*args, **kwargs):
        raise OSError(LIBGIT2_FULL)

    for target in ("repos.git.commit.update_ref", "repos.services.refs.squash_ref", "repos.services.refs.create_tag"):
        monkeypatch.setattr(target, full)
    refs = (git_repo(repo).branches(), git_repo(repo).tags(), head(repo))
    r = client.post(url.format(id=repo.repo_id), body, content_type="application/json", **auth(tokens["alice"]))
    _assert_507(r)
    assert (git_repo(repo).branches(), git_repo(repo).tags(), head(repo)) == refs


def _uploader(repo):
    return f"{repo.owner_id}.0.write"  # the owner, in a browser session


def test_lfs_put_leaves_no_partial_object(repo, monkeypatch):
    data = b"weights" * 1000
    oid = hashlib.sha256(data).hexdigest()
    backend = storage_backend()
    monkeypatch.setattr("repos.objects.backends.local.os.fsync", _enospc)
    href = upload_href(repo, oid, len(data), principal=_uploader(repo))
    r = Client().put(href, data, content_type="application/octet-stream")
    _assert_507(r, "lfs")
    assert r["Content-Type"] == "application/vnd.git-lfs+json"
    assert not backend.exists(oid)
    assert not [p for p in backend.tmp_dir.iterdir() if p.name.startswith(oid[:16])]


def test_lfs_put_when_the_database_is_full(repo, monkeypatch):
    data = b"other weights" * 100
    oid = hashlib.sha256(data).hexdigest()

    def full(**kwargs):
        raise OperationalError("database or disk is full")

    monkeypatch.setattr("repos.objects.door.link", full)
    href = upload_href(repo, oid, len(data), principal=_uploader(repo))
    r = Client().put(href, data, content_type="application/octet-stream")
    _assert_507(r, "lfs")
    from repos.objects import find

    assert find(repo=repo, oid=oid) is None  # stored maybe, but not readable through the repo


def test_browser_upload_spooling(alice, repo, settings, monkeypatch):
    from repos.views import upload_handlers

    browser = Client()
    browser.force_login(alice)
    before = head(repo)
    leftovers = set(settings.TMP_ROOT.iterdir())
    monkeypatch.setattr(upload_handlers._DiskUploadedFile, "write", _enospc, raising=False)
    r = browser.post(f"/{repo.repo_id}/upload/main",
                     {"files": [SimpleUploadedFile("a.txt", b"a" * 1000), SimpleUploadedFile("b.txt", b"b")]})
    _assert_507(r, "html")
    assert r["Content-Type"].startswith("text/html") and b"507" in r.content
    assert head(repo) == before
    assert set(settings.TMP_ROOT.iterdir()) == leftovers


def test_browser_upload_storing_an_lfs_file(alice, repo, settings, monkeypatch):
    browser = Client()
    browser.force_login(alice)
    before = head(repo)
    monkeypatch.setattr("repos.objects.backends.local.os.fsync", _enospc)
    big = b"\x00\x01binary" * 200_000  # binary: goes to LFS
    r = browser.post(f"/{repo.repo_id}/upload/main", {"files": [SimpleUploadedFile("w.bin", big)]})
    _assert_507(r, "html")
    assert "out of disk space" in r.content.decode()
    assert head(repo) == before
    assert not [p for p in settings.TMP_ROOT.iterdir() if p.suffix == ".part"]


def test_push_is_refused_before_receive_pack_when_space_is_low(repo, tokens, settings):
    def advertise():
        return Client().get(f"/{repo.repo_id}.git/info/refs?service=git-receive-pack", **auth(tokens["alice"]))

    settings.HUB_PUSH_MIN_FREE_BYTES = 1 << 62
    for r in (advertise(), Client().post(f"/{repo.repo_id}.git/git-receive-pack", b"0000",
                                         content_type="application/x-git-receive-pack-request",
                                         **auth(tokens["alice"]))):
        _assert_507(r, "git")
        assert r["Content-Type"].startswith("text/plain") and b"out of disk space" in r.content
    settings.HUB_PUSH_MIN_FREE_BYTES = 1024
    r = advertise()
    assert r.status_code == 200
    r.close()


def test_the_500_handler_answers_507_for_a_full_disk_outside_views():
    from hub.http.handlers import server_error

    request = RequestFactory().get("/api/models")
    try:
        raise OperationalError("database or disk is full")
    except OperationalError:
        response = server_error(request)
    assert response.status_code == 507 and response["X-Error-Message"] == InsufficientStorage.default_message
    assert server_error(request).status_code == 500
