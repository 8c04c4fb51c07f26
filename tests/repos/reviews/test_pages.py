"""The discussion pages in process: Community list and filters, new discussions, the
conversation with its forms, the merge box and its rules, PRs opened from the edit and upload
pages, compares with highlighted diffs, notifications and their unread count, CSRF on every
form of the wing."""
from __future__ import annotations

import re

import pytest
from django.test import Client

from repos.git import commit as git_commit
from repos.handles import git_repo
from repos.models import Discussion, MergeRules, Notification
from repos.services.commits import AddFile, CommitHeader, commit_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice_client(alice) -> Client:
    c = Client()
    c.force_login(alice)
    return c


@pytest.fixture
def bob_client(bob) -> Client:
    c = Client()
    c.force_login(bob)
    return c


def _seed(repo, user):
    git = git_repo(repo)
    git_commit.commit_to_ref(git, ref="refs/heads/main",
                             ops=[git_commit.PutFile("train.py", b"def f(x):\n    return x\n")],
                             author=git_commit.Signature(user.username, user.email), message="seed",
                             expected_head=git.refs("refs/heads/main")["refs/heads/main"])


def _messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"]) if response.context else ""


def test_discussion_conversation_through_forms(repo, alice, bob, alice_client, bob_client):
    base = f"/{repo.repo_id}"
    r = bob_client.post(f"{base}/discussions/new", {"title": "Question <b>bold</b>",
                                                     "description": "Hello <script>alert(1)</script> @alice"})
    assert r.status_code == 302 and r["Location"] == f"{base}/discussions/1"
    page = bob_client.get(f"{base}/discussions/1").content.decode()
    assert "Question &lt;b&gt;bold&lt;/b&gt;" in page and "<script>alert(1)" not in page
    # alice has a notification: the header counts it, visiting marks it read.
    assert 'data-unread-count>1<' in alice_client.get("/notifications").content.decode()
    assert "mentioned you" in alice_client.get("/notifications").content.decode()
    alice_client.get(f"{base}/discussions/1")
    assert not Notification.objects.filter(recipient=alice, read_at=None).exists()
    r = alice_client.post(f"{base}/discussions/1/comment", {"comment": "An **answer**"}, follow=True)
    assert "<strong>answer</strong>" in r.content.decode() and "Comment posted." in _messages(r)
    r = bob_client.post(f"{base}/discussions/1/status", {"status": "closed"}, follow=True)
    assert Discussion.objects.get(repository=repo, num=1).status == "closed"
    # Filters of the Community tab.
    listing = bob_client.get(f"{base}/discussions").content.decode()
    assert "#1 Question" not in listing  # open by default
    listing = bob_client.get(f"{base}/discussions", {"status": "closed"}).content.decode()
    assert "#1 Question &lt;b&gt;bold&lt;/b&gt;" in listing
    assert bob_client.get(f"{base}/discussions", {"status": "bogus"}).status_code == 200


def test_pull_request_from_the_edit_page_reviewed_and_merged(repo, alice, bob, alice_client, bob_client):
    _seed(repo, alice)
    base = f"/{repo.repo_id}"
    head = git_repo(repo).resolve("main")
    MergeRules.objects.create(repository=repo, required_approvals=1)
    # alice (the owner) proposes instead of committing.
    r = alice_client.post(f"{base}/edit/main/train.py", {"content": "def f(x):\n    return 2 * x\n", "parent": head,
                                                         "summary": "Double it", "pull_request": "on"})
    assert r.status_code == 302 and r["Location"] == f"{base}/discussions/1"
    assert git_repo(repo).resolve("main") == head  # nothing committed on main
    pr = Discussion.objects.get(repository=repo, num=1)
    assert pr.is_pull_request and pr.status == "open"
    page = alice_client.get(f"{base}/discussions/1").content.decode()
    assert "1 approval from writers" in page and "disabled" in page
    files = alice_client.get(f"{base}/discussions/1/files").content.decode()
    assert '<span class="k">return</span>' in files  # highlighted diff
    assert "{#" not in files and "{%" not in files  # no template syntax leaks into pages
    assert 'data-line-comment="2"' in files
    # The author cannot approve; a writer (bob, made collaborator) can.
    r = alice_client.post(f"{base}/discussions/1/review", {"state": "approved"})
    assert r.status_code == 403
    from accounts.object_permissions import object_role_set

    object_role_set(user=bob, obj=repo, role="write")
    r = bob_client.post(f"{base}/discussions/1/comment", {"comment": "why?", "path": "train.py", "line": "2",
                                                          "side": "new", "next": "files"})
    assert r["Location"].endswith("/discussions/1/files")
    bob_client.post(f"{base}/discussions/1/review", {"state": "approved", "body": "ok"})
    page = alice_client.get(f"{base}/discussions/1").content.decode()
    assert "on train.py line 2" in page and 'data-check="approvals"' in page
    r = alice_client.post(f"{base}/discussions/1/merge", {"method": "auto"}, follow=True)
    assert "merged into main" in _messages(r)
    assert "return 2 * x" in git_repo(repo).read_blob(git_repo(repo).get_entry(git_repo(repo).resolve("main"),
                                                                                  "train.py").oid).decode()


def test_upload_page_opens_a_pull_request(repo, alice, alice_client):
    _seed(repo, alice)
    from django.core.files.uploadedfile import SimpleUploadedFile

    r = alice_client.post(f"/{repo.repo_id}/upload/main", {
        "files": [SimpleUploadedFile("notes.txt", b"hello\n")], "summary": "Add notes", "pull_request": "on"})
    assert r.status_code == 302 and r["Location"].endswith("/discussions/1")
    assert git_repo(repo).get_entry(git_repo(repo).resolve("refs/pr/1"), "notes.txt") is not None
    assert git_repo(repo).get_entry(git_repo(repo).resolve("main"), "notes.txt") is None


def test_compare_page_with_structured_changes_and_raw_diff(repo, alice, alice_client):
    _seed(repo, alice)
    commit_create(repo=repo, user=alice, revision="main", header=CommitHeader(summary="b"),
                  operations=[AddFile("README.md", b"---\nlicense: mit\n---\n# Card\n")])
    page = alice_client.get(f"/{repo.repo_id}/compare/main~1...main")
    assert page.status_code == 404  # revision expressions are not revisions (RevisionNotFound)
    sha = git_repo(repo).resolve("main")
    parent = git_repo(repo).commit_info(sha).parents[0]
    page = alice_client.get(f"/{repo.repo_id}/compare/{parent}...{sha}")
    html = page.content.decode()
    assert page.status_code == 200 and "card metadata" in html and "license" in html
    r = alice_client.get(f"/api/models/{repo.repo_id}/compare/{parent}..{sha}?raw=1")
    assert r["Content-Type"].startswith("text/x-diff") and b"+license: mit" in r.content


def test_every_form_of_the_wing_enforces_csrf(repo, alice):
    commit_create(repo=repo, user=alice, revision="main", header=CommitHeader(summary="p"),
                  operations=[AddFile("x.txt", b"x")], create_pr=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    base = f"/{repo.repo_id}"
    posts = [f"{base}/discussions/new", f"{base}/watch", f"{base}/settings/merge-rules", "/notifications/read"]
    posts += [f"{base}/discussions/1/{a}" for a in ("comment", "status", "title", "review", "resolve",
                                                    "request-review", "edit", "hide", "merge", "pin", "lock")]
    for url in posts:
        assert client.post(url, {"comment": "x", "title": "xyz"}).status_code == 403, url
    # Pages with forms carry the token.
    for url in (f"{base}/discussions/1", f"{base}/discussions/1/files", f"{base}/discussions/new", "/notifications"):
        html = client.get(url).content.decode()
        forms = re.findall(r"<form[^>]*method=\"post\"[^>]*>(.*?)</form>", html, flags=re.S)
        assert all("csrfmiddlewaretoken" in f for f in forms), url
