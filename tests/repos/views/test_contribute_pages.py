"""The upload, edit and new-file pages for people who may propose changes but not write (a
signed-in stranger on a public repository, an organization's contributor on a private one):
the same pages with the pull request as the only way; and the upload form's JSON answers
(what static/js/write.js shows per file: the outcome, or each refused file's error)."""
from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from repos.handles import git_repo
from repos.models import Discussion, Repository
from repos.services import uploads as upload_service
from tests.factories import MembershipFactory, OrganizationFactory, RepositoryFactory, TokenFactory, auth, commit

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def demo(make_repo):
    repo = make_repo("demo")
    commit(repo, files={"a.txt": b"hello\n", "notes/b.md": b"# B\n"})
    return repo


def _file(repo, path, rev="main"):
    git = git_repo(repo)
    entry = git.get_entry(git.resolve(rev), path)
    return None if entry is None else git.read_blob(entry.oid)


def test_a_stranger_uploads_and_edits_through_pull_requests(demo, bob_client):
    head = git_repo(demo).resolve("main")
    page = bob_client.get("/alice/demo/upload/main").content.decode()
    assert "data-pr-only" in page and "Open a pull request" in page and 'type="checkbox"' not in page
    # No choice in the request at all: still a pull request, never a commit on main.
    r = bob_client.post("/alice/demo/upload/main", {"files": [SimpleUploadedFile("new.txt", b"new\n")],
                                                    "summary": "Add new.txt"})
    assert r.status_code == 302 and r["Location"] == "/alice/demo/discussions/1"
    assert git_repo(demo).resolve("main") == head
    assert _file(demo, "new.txt", rev="refs/pr/1") == b"new\n"
    r = bob_client.post("/alice/demo/edit/main/a.txt", {"content": "hello, bob\n", "parent": head,
                                                        "summary": "Greet bob"})
    assert r.status_code == 302 and r["Location"] == "/alice/demo/discussions/2"
    pr = Discussion.objects.get(repository=demo, num=2)
    assert pr.author.username == "bob" and pr.status == "open" and pr.title == "Greet bob"
    assert _file(demo, "a.txt", rev="refs/pr/2") == b"hello, bob\n" and _file(demo, "a.txt") == b"hello\n"
    page = bob_client.get("/alice/demo/new-file/main").content.decode()
    assert "data-pr-only" in page


def test_writers_choose_between_a_commit_and_a_pull_request(demo, alice_client):
    page = alice_client.get("/alice/demo/edit/main/a.txt").content.decode()
    assert "data-pr-only" not in page and 'name="pull_request"' in page and 'type="checkbox"' in page
    assert 'data-pr-label="Open a pull request"' in page and "Commit changes to main" in page


def test_an_org_contributor_proposes_on_a_private_repository(alice, bob):
    org = OrganizationFactory(name="acme", admin=alice)
    MembershipFactory(org=org, user=bob, role="contributor")
    repo = RepositoryFactory(owner=alice, namespace="acme", name="secret", private=True)
    commit(repo, files={"a.txt": b"x\n"})
    client = Client()
    client.force_login(bob)
    r = client.post("/acme/secret/upload/main", {"files": [SimpleUploadedFile("b.txt", b"b\n")]})
    assert r.status_code == 302 and r["Location"] == "/acme/secret/discussions/1"
    assert _file(repo, "b.txt") is None and _file(repo, "b.txt", rev="refs/pr/1") == b"b\n"


def test_gated_files_are_not_shown_to_proposers_without_access(demo, bob_client):
    Repository.objects.filter(pk=demo.pk).update(gated=Repository.Gated.MANUAL)
    r = bob_client.get("/alice/demo/edit/main/a.txt")
    assert r.status_code == 403 and "hello" not in r.content.decode()
    assert bob_client.get("/alice/demo/rename/main/a.txt").status_code == 403
    assert bob_client.get("/alice/demo/upload/main").status_code == 200  # adds files, shows none


def test_a_read_token_cannot_propose(demo, bob):
    token = TokenFactory(user=bob, name="r", role="read").secret
    r = Client().get("/alice/demo/upload/main", **auth(token))
    assert r.status_code == 403 and "write access" in r.content.decode()
    assert _file(demo, "x.txt") is None


# ----------------------------------------------------------------------------- JSON answers


def test_upload_json_success_names_each_file(demo, alice_client):
    big = b"\x00binary" * 2000
    r = alice_client.post("/alice/demo/upload/main", {
        "files": [SimpleUploadedFile("small.txt", b"small\n"), SimpleUploadedFile("w.bin", big)],
        "folder": "sub"}, **JSON)
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["ok"] is True and body["redirect"] == "/alice/demo/tree/main/sub" and body["pullRequest"] is None
    assert body["commit"] == git_repo(demo).resolve("main")
    assert body["files"] == [{"index": 0, "path": "sub/small.txt", "size": 6, "lfs": False},
                             {"index": 1, "path": "sub/w.bin", "size": len(big), "lfs": True}]
    # The message waits for the page the script goes to.
    assert "Committed 2 file(s)" in alice_client.get(body["redirect"]).content.decode()


def test_upload_json_as_a_pull_request(demo, bob_client):
    r = bob_client.post("/alice/demo/upload/main", {"files": [SimpleUploadedFile("p.txt", b"p")]}, **JSON)
    body = r.json()
    assert body["ok"] and body["pullRequest"] == 1 and body["redirect"] == "/alice/demo/discussions/1"


def test_upload_json_errors_by_file(demo, alice_client):
    head = git_repo(demo).resolve("main")
    # Names no repository may hold, and a name given twice: each file gets its own error.
    r = alice_client.post("/alice/demo/upload/main", {"files": [
        SimpleUploadedFile("ok.txt", b"ok"), SimpleUploadedFile("GIT~1", b"x"), SimpleUploadedFile("ok.txt", b"y")]},
        **JSON)
    assert r.status_code == 400
    body = r.json()
    assert body["ok"] is False and "2 files cannot be uploaded" in body["error"]
    assert [(f["index"], f["name"]) for f in body["files"]] == [(1, "GIT~1"), (2, "ok.txt")]
    assert "reserved" in body["files"][0]["error"] and "same name" in body["files"][1]["error"]
    # A file where the branch has a folder: the commit is refused, by that file.
    r = alice_client.post("/alice/demo/upload/main", {"files": [SimpleUploadedFile("fine.txt", b"f"),
                                                                SimpleUploadedFile("notes", b"n")]}, **JSON)
    assert r.status_code == 422, r.content
    assert [f["index"] for f in r.json()["files"]] == [1]
    # No file at all: the form's error.
    r = alice_client.post("/alice/demo/upload/main", {}, **JSON)
    assert r.status_code == 400 and "Choose at least one file" in r.json()["error"]
    assert git_repo(demo).resolve("main") == head


def test_every_file_the_upload_policy_refuses_is_named_before_anything_is_stored(demo, alice_client, monkeypatch):
    ingested = []
    monkeypatch.setattr(upload_service, "check_lfs_object_size",
                        lambda size: "This file is too large for Git LFS here." if size > 1000 else None)
    monkeypatch.setattr(upload_service.objects, "ingest_file", lambda **kw: ingested.append(kw) or "0" * 64)
    r = alice_client.post("/alice/demo/upload/main", {"files": [
        SimpleUploadedFile("a.bin", b"\x00" * 2000), SimpleUploadedFile("b.bin", b"\x00" * 10),
        SimpleUploadedFile("c.bin", b"\x00" * 3000)]}, **JSON)
    assert r.status_code == 400
    body = json.loads(r.content)
    assert [(f["index"], f["name"]) for f in body["files"]] == [(0, "a.bin"), (2, "c.bin")]
    assert all("too large" in f["error"] for f in body["files"])
    assert ingested == []  # b.bin was not stored either: the upload is refused as a whole
    # Without JavaScript: the same refusal on the page.
    r = alice_client.post("/alice/demo/upload/main", {"files": [SimpleUploadedFile("a.bin", b"\x00" * 2000)]})
    assert r.status_code == 400 and "too large" in r.content.decode()
