"""Deleting and renaming files and folders, branches and tags, renaming and transferring
repositories from the pages: each goes through the services and the push policy the API uses
(a protected-branch or permission refusal is a clear message with its status, never a 500),
asks for confirmation, needs the CSRF token, and announces ref moves through the event door
with origin "web"."""
from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import AuditEvent
from repos import events
from repos.handles import git_repo
from repos.lfs.pointer import parse_pointer
from repos.models import Discussion, RepoRedirect, Repository
from tests.factories import (
    CollaboratorFactory,
    MembershipFactory,
    OrganizationFactory,
    RepositoryFactory,
    bearer,
    commit,
)

pytestmark = pytest.mark.django_db


# Tests that watch the event door run with real transactions: subscribers are called when the
# write's transaction commits, as in production.
EVENTS = pytest.mark.django_db(transaction=True)


@pytest.fixture
def seen():
    """Every RefsUpdated sent while the test runs."""
    received: list[events.RefsUpdated] = []
    events.subscribe(received.append)
    yield received
    events.unsubscribe(received.append)


@pytest.fixture
def demo(make_repo):
    repo = make_repo("demo")
    commit(repo, files={"a.txt": b"hello\n", "notes/b.md": b"# B\n", "notes/deep/c.md": b"# C\n"},
           lfs={"weights.bin": b"\x00\x01" * 5000})
    return repo


def _file(repo, path, rev="main"):
    git = git_repo(repo)
    entry = git.get_entry(git.resolve(rev), path)
    return None if entry is None else git.read_blob(entry.oid)


def _head(repo, ref="refs/heads/main"):
    return git_repo(repo).refs(ref).get(ref)


def _messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"]) if response.context else ""


# ----------------------------------------------------------------------------- files


@EVENTS
def test_delete_a_file_after_confirmation(demo, alice_client, seen):
    head = _head(demo)
    page = alice_client.get("/alice/demo/delete/main/a.txt")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Delete the file" in body and f'value="{head}"' in body and "csrfmiddlewaretoken" in body
    assert _file(demo, "a.txt") == b"hello\n"  # showing the page changes nothing
    r = alice_client.post("/alice/demo/delete/main/a.txt", {"parent": head, "summary": ""}, follow=True)
    assert r.redirect_chain[0][0] == "/alice/demo/tree/main"
    assert "Deleted a.txt in" in _messages(r)
    assert _file(demo, "a.txt") is None
    new = _head(demo)
    assert git_repo(demo).commit_info(new).title == "Delete a.txt"
    assert [(e.origin, e.changes) for e in seen] == [("web", (events.RefChange("refs/heads/main", head, new),))]
    assert seen[0].actor.username == "alice"


def test_delete_a_folder_and_the_stale_page_is_refused(demo, alice_client, seen):
    head = _head(demo)
    body = alice_client.get("/alice/demo/delete/main/notes").content.decode()
    assert "the folder" in body and "2 files" in body
    r = alice_client.post("/alice/demo/delete/main/notes", {"parent": head})
    assert r.status_code == 302 and r["Location"] == "/alice/demo/tree/main"
    assert _file(demo, "notes/b.md") is None and _file(demo, "notes/deep/c.md") is None
    # A second page shown at the old head: the branch moved since, nothing changes.
    moved = _head(demo)
    r = alice_client.post("/alice/demo/delete/main/a.txt", {"parent": head})
    assert r.status_code == 412 and "updated since" in r.content.decode() and _head(demo) == moved


def test_delete_needs_the_csrf_token_and_an_existing_path(demo, alice):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    head = _head(demo)
    assert strict.post("/alice/demo/delete/main/a.txt", {"parent": head}).status_code == 403
    assert _file(demo, "a.txt") == b"hello\n"
    client = Client()
    client.force_login(alice)
    assert client.get("/alice/demo/delete/main/nope.txt").status_code == 404
    assert client.get("/alice/demo/delete/main").status_code == 400  # the root: never
    assert client.get(f"/alice/demo/delete/{head}/a.txt").status_code == 400  # only branches take commits


@EVENTS
def test_rename_a_regular_file_and_an_lfs_file(demo, alice_client, seen):
    head = _head(demo)
    assert 'value="a.txt"' in alice_client.get("/alice/demo/rename/main/a.txt").content.decode()
    r = alice_client.post("/alice/demo/rename/main/a.txt", {"parent": head, "destination": "docs/hello.txt"})
    assert r.status_code == 302 and r["Location"] == "/alice/demo/blob/main/docs/hello.txt"
    assert _file(demo, "a.txt") is None and _file(demo, "docs/hello.txt") == b"hello\n"
    assert git_repo(demo).commit_info(_head(demo)).title == "Rename a.txt to docs/hello.txt"
    # An LFS file moves as its pointer (same object); .gitattributes covers the new name.
    pointer = _file(demo, "weights.bin")
    r = alice_client.post("/alice/demo/rename/main/weights.bin", {"parent": _head(demo),
                                                                   "destination": "ckpt/model.data"})
    assert r.status_code == 302
    assert _file(demo, "ckpt/model.data") == pointer and parse_pointer(pointer) is not None
    assert b"ckpt/model.data" in _file(demo, ".gitattributes")
    assert [e.origin for e in seen] == ["web", "web"]


def test_rename_a_folder_and_refusals(demo, alice_client):
    head = _head(demo)
    r = alice_client.post("/alice/demo/rename/main/notes", {"parent": head, "destination": "docs"})
    assert r.status_code == 302 and r["Location"] == "/alice/demo/tree/main/docs"
    assert _file(demo, "docs/b.md") == b"# B\n" and _file(demo, "docs/deep/c.md") == b"# C\n"
    assert _file(demo, "notes/b.md") is None
    head = _head(demo)
    for destination, status, text in (("a.txt", 409, "already exists"), ("a.txt/x", 409, "is a file"),
                                      ("docs/deep/inner", 400, "into itself"), ("../x", 400, "")):
        r = alice_client.post("/alice/demo/rename/main/docs", {"parent": head, "destination": destination})
        assert r.status_code == status, (destination, r.status_code)
        assert text in r.content.decode()
    assert _head(demo) == head


@EVENTS
def test_a_reader_who_may_propose_gets_a_pull_request(demo, bob_client, seen):
    """bob may not write alice's public repository: the page has no choice, only a pull request,
    and a crafted request without the choice is a pull request all the same."""
    head = _head(demo)
    body = bob_client.get("/alice/demo/delete/main/a.txt").content.decode()
    assert "data-pr-only" in body and 'name="pull_request" value="on"' in body and "Open a pull request" in body
    r = bob_client.post("/alice/demo/delete/main/a.txt", {"parent": head, "summary": "Drop a.txt"})
    assert r.status_code == 302 and r["Location"] == "/alice/demo/discussions/1"
    pr = Discussion.objects.get(repository=demo, num=1)
    assert pr.is_pull_request and pr.author.username == "bob" and pr.title == "Drop a.txt" and pr.status == "open"
    assert _head(demo) == head and _file(demo, "a.txt") == b"hello\n"
    assert _file(demo, "a.txt", rev="refs/pr/1") is None
    assert [e.origin for e in seen] == ["pr"]
    # Rename and upload likewise.
    r = bob_client.post("/alice/demo/rename/main/a.txt", {"parent": head, "destination": "b.txt"})
    assert r.status_code == 302 and r["Location"] == "/alice/demo/discussions/2"
    assert _head(demo) == head


def test_the_file_pages_link_to_delete_and_rename(demo, alice_client, bob_client, client):
    blob = alice_client.get("/alice/demo/blob/main/a.txt").content.decode()
    assert 'href="/alice/demo/delete/main/a.txt"' in blob and 'href="/alice/demo/rename/main/a.txt"' in blob
    tree = alice_client.get("/alice/demo/tree/main/notes").content.decode()
    assert 'href="/alice/demo/delete/main/notes"' in tree and 'href="/alice/demo/rename/main/notes"' in tree
    assert 'href="/alice/demo/refs"' in tree
    # bob proposes changes: the same links, his edit becomes a pull request.
    blob = bob_client.get("/alice/demo/blob/main/a.txt").content.decode()
    assert 'href="/alice/demo/edit/main/a.txt"' in blob and 'href="/alice/demo/delete/main/a.txt"' in blob
    # Anonymous visitors see no change links; at a tag there are none either.
    assert "/delete/main/a.txt" not in client.get("/alice/demo/blob/main/a.txt").content.decode()


# ----------------------------------------------------------------------------- branches and tags


@EVENTS
def test_create_and_delete_a_branch_and_a_tag(demo, alice_client, seen):
    head = _head(demo)
    page = alice_client.get("/alice/demo/refs").content.decode()
    assert 'data-ref="main"' in page and "default" in page and "Create branch" in page
    r = alice_client.post("/alice/demo/refs/new", {"branch-kind": "branch", "branch-name": "dev",
                                                    "branch-revision": ""}, follow=True)
    assert "Created branch dev" in _messages(r) and 'data-ref="dev"' in r.content.decode()
    assert _head(demo, "refs/heads/dev") == head
    r = alice_client.post("/alice/demo/refs/new", {"tag-kind": "tag", "tag-name": "v1.0", "tag-revision": "dev",
                                                    "tag-message": "First release"})
    assert r.status_code == 302
    assert git_repo(demo).resolve("v1.0") == head
    # Deleting asks first (GET: the confirmation page), then deletes (POST).
    confirm = alice_client.get("/alice/demo/refs/delete", {"kind": "branch", "name": "dev"})
    assert confirm.status_code == 200 and "Delete the branch" in confirm.content.decode()
    assert _head(demo, "refs/heads/dev") == head
    r = alice_client.post("/alice/demo/refs/delete", {"kind": "branch", "name": "dev"}, follow=True)
    assert "Deleted branch dev" in _messages(r) and _head(demo, "refs/heads/dev") is None
    r = alice_client.post("/alice/demo/refs/delete", {"kind": "tag", "name": "v1.0"})
    assert r.status_code == 302 and _head(demo, "refs/tags/v1.0") is None
    assert [(e.origin, e.changes[0].ref, e.changes[0].new is None) for e in seen] == [
        ("web", "refs/heads/dev", False), ("web", "refs/tags/v1.0", False),
        ("web", "refs/heads/dev", True), ("web", "refs/tags/v1.0", True)]
    actions = list(AuditEvent.objects.filter(target=str(demo), action__startswith="repo.ref")
                   .values_list("action", flat=True))
    assert sorted(actions) == ["repo.ref.create", "repo.ref.create", "repo.ref.delete", "repo.ref.delete"]


def test_ref_refusals_are_messages_not_errors(demo, alice, alice_client, bob_client, client):
    # The push policy protects the default branch, on the page as on the API: same status, same words.
    api = client.delete("/api/models/alice/demo/branch/main", **bearer(alice))
    r = alice_client.post("/alice/demo/refs/delete", {"kind": "branch", "name": "main"})
    assert api.status_code == r.status_code == 403
    assert api["X-Error-Message"] == "The default branch (main) cannot be deleted."
    assert "The default branch (main) cannot be deleted." in r.content.decode()
    assert _head(demo) is not None
    for data, status, text in (
            ({"branch-kind": "branch", "branch-name": "bad..name"}, 400, "Invalid reference for a branch"),
            ({"branch-kind": "branch", "branch-name": "main"}, 409, "already exists"),
            ({"branch-kind": "branch", "branch-name": "x", "branch-revision": "nope"}, 404, "nope"),
            ({"tag-kind": "tag", "tag-name": "t", "tag-revision": "nope"}, 404, "nope")):
        r = alice_client.post("/alice/demo/refs/new", data)
        assert r.status_code == status, (data, r.status_code)
        assert text in r.content.decode() and "data-refs-error" in r.content.decode()
    r = alice_client.post("/alice/demo/refs/delete", {"kind": "tag", "name": "missing"})
    assert r.status_code == 404
    # Readers see the list but no forms, and cannot change refs (403, as the API).
    page = bob_client.get("/alice/demo/refs").content.decode()
    assert 'data-ref="main"' in page and "Create branch" not in page
    assert bob_client.post("/alice/demo/refs/new", {"branch-kind": "branch", "branch-name": "b"}).status_code == 403
    assert bob_client.post("/alice/demo/refs/delete", {"kind": "branch", "name": "main"}).status_code == 403
    assert bob_client.get("/alice/demo/refs/delete", {"kind": "branch", "name": "main"}).status_code == 403
    assert alice_client.get("/alice/demo/refs/delete", {"kind": "bogus", "name": "x"}).status_code == 400


def test_a_write_token_capped_below_write_is_refused_by_the_policy(demo, bob, bob_client):
    """bob is a writer, but the policy reads his grant again under the lock: revoked between the
    page and the POST, the ref does not move and he reads why."""
    from repos.services.access import collaborator_remove

    CollaboratorFactory(repo=demo, user=bob, role="write")
    assert "Create branch" in bob_client.get("/alice/demo/refs").content.decode()
    collaborator_remove(repo=demo, user=bob, actor=demo.owner)
    r = bob_client.post("/alice/demo/refs/new", {"branch-kind": "branch", "branch-name": "late"})
    assert r.status_code == 403 and _head(demo, "refs/heads/late") is None


# ----------------------------------------------------------------------------- repositories


def test_rename_and_transfer_a_repository(demo, alice, alice_client):
    page = alice_client.get("/alice/demo/settings").content.decode()
    assert "Rename or transfer" in page and 'action="/alice/demo/settings/move"' in page
    r = alice_client.post("/alice/demo/settings/move", {"namespace": "alice", "name": "renamed",
                                                         "confirm": "alice/demo"}, follow=True)
    assert r.redirect_chain[0][0] == "/alice/renamed/settings"
    assert "alice/demo is now alice/renamed" in _messages(r)
    assert Repository.objects.get(pk=demo.pk).repo_id == "alice/renamed"
    assert alice_client.get("/alice/demo/tree/main")["Location"] == "/alice/renamed/tree/main"
    # To an organization alice writes to; the old names keep redirecting.
    org = OrganizationFactory(name="acme")
    MembershipFactory(org=org, user=alice, role="write")
    r = alice_client.post("/alice/renamed/settings/move", {"namespace": "acme", "name": "renamed",
                                                            "confirm": "alice/renamed"})
    assert r.status_code == 302 and r["Location"] == "/acme/renamed/settings"
    moved = Repository.objects.get(pk=demo.pk)
    assert moved.repo_id == "acme/renamed" and moved.organization_id == org.pk
    assert RepoRedirect.objects.filter(repository=moved).count() == 2
    assert AuditEvent.objects.filter(action="repo.move").count() == 2


def test_repository_move_refusals(demo, alice, alice_client, bob, bob_client, client):
    OrganizationFactory(name="elsewhere", admin=bob)  # alice is no member
    RepositoryFactory(owner=alice, name="taken")
    for data, text in (({"namespace": "alice", "name": "x", "confirm": "alice/wrong"}, "to confirm"),
                       ({"namespace": "elsewhere", "name": "x", "confirm": "alice/demo"}, "Choose an owner"),
                       ({"namespace": "alice", "name": "demo", "confirm": "alice/demo"}, "same"),
                       ({"namespace": "alice", "name": "taken", "confirm": "alice/demo"}, "already exists")):
        r = alice_client.post("/alice/demo/settings/move", data, follow=True)
        assert text in _messages(r), (data, _messages(r))
        assert r.redirect_chain[0][0] == "/alice/demo/settings"
    assert Repository.objects.get(pk=demo.pk).repo_id == "alice/demo"
    # Not an admin of the repository: 403, as the API's repos/move; anonymous: the login page.
    CollaboratorFactory(repo=demo, user=bob, role="write")
    assert bob_client.post("/alice/demo/settings/move", {"namespace": "bob", "name": "mine",
                                                         "confirm": "alice/demo"}).status_code == 403
    assert client.post("/alice/demo/settings/move", {})["Location"].startswith("/login")
    assert Repository.objects.get(pk=demo.pk).repo_id == "alice/demo"
