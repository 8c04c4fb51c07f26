"""The event door: exactly one RefsUpdated per ref change, on every path that moves a ref, with
its origin and old/new shas; the weights analysis enqueued once per change of the default
branch; a failing subscriber never fails the write."""
from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.models import AuditEvent
from repos import events
from repos.git import commit as git_commit
from repos.git.hooks import HookRequest, RefUpdate
from repos.handles import git_repo
from repos.models import Discussion
from repos.services.commits import AddFile, CommitHeader, commit_create
from repos.services.push import PushSession
from tests.factories import auth

# Real transactions: subscribers run when the write's transaction commits, as in production.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def seen(monkeypatch):
    """Every RefsUpdated sent while the test runs, and every analysis enqueued (task calls)."""
    received: list[events.RefsUpdated] = []
    analyses: list[tuple[int, str]] = []
    from repos.tasks import repo_analyze

    monkeypatch.setattr(repo_analyze, "delay", lambda repo_id, sha: analyses.append((repo_id, sha)))
    events.subscribe(received.append)
    yield received, analyses
    events.unsubscribe(received.append)


def _head(repo, ref="refs/heads/main"):
    return git_repo(repo).refs(ref).get(ref)


def _one(received, origin):
    assert len(received) == 1, received
    event = received[0]
    assert event.origin == origin
    return event


def test_api_commit(client, tokens, repo, seen):
    received, analyses = seen
    before = _head(repo)
    body = (json.dumps({"key": "header", "value": {"summary": "add a"}}) + "\n"
            + json.dumps({"key": "file", "value": {"path": "a.txt", "content": "YQ=="}}) + "\n")
    r = client.post(f"/api/models/{repo.repo_id}/commit/main", body, content_type="application/x-ndjson",
                    **auth(tokens["alice"]))
    assert r.status_code == 200, r.content
    event = _one(received, "api")
    assert event.changes == (events.RefChange("refs/heads/main", before, r.json()["commitOid"]),)
    assert event.actor.username == "alice"
    assert analyses == [(repo.pk, r.json()["commitOid"])]  # exactly one enqueue
    audit = AuditEvent.objects.get(action="repo.commit", target=str(repo))
    assert audit.data["origin"] == "api" and audit.data["refs"] == [event.changes[0].summary]


def test_create_pr_and_commits_to_the_pr_ref(repo, alice, bob, seen):
    received, analyses = seen
    opened = commit_create(repo=repo, user=bob, revision="main", header=CommitHeader(summary="propose"),
                           operations=[AddFile("p.txt", b"p")], create_pr=True)
    event = _one(received, "pr")
    assert event.changes == (events.RefChange("refs/pr/1", None, opened.sha),)
    received.clear()
    more = commit_create(repo=repo, user=bob, revision="refs/pr/1", header=CommitHeader(summary="more"),
                         operations=[AddFile("q.txt", b"q")])
    event = _one(received, "api")
    assert event.changes == (events.RefChange("refs/pr/1", opened.sha, more.sha),)
    assert analyses == []  # not the default branch
    assert Discussion.objects.get(repository=repo, num=1).is_pull_request


def test_branch_and_tag_create_and_delete(client, tokens, repo, seen):
    received, analyses = seen
    main = _head(repo)
    url = f"/api/models/{repo.repo_id}"
    steps = [
        ("post", f"{url}/branch/dev", {}, events.RefChange("refs/heads/dev", None, main)),
        ("delete", f"{url}/branch/dev", None, events.RefChange("refs/heads/dev", main, None)),
        ("post", f"{url}/tag/main", {"tag": "v1"}, events.RefChange("refs/tags/v1", None, main)),
        ("delete", f"{url}/tag/v1", None, events.RefChange("refs/tags/v1", main, None)),
    ]
    for method, path, body, change in steps:
        kwargs = {"data": json.dumps(body), "content_type": "application/json"} if body is not None else {}
        r = getattr(client, method)(path, **kwargs, **auth(tokens["alice"]))
        assert r.status_code == 200, r.content
        assert _one(received, "api").changes == (change,)
        received.clear()
    assert analyses == []
    actions = list(AuditEvent.objects.filter(target=str(repo)).order_by("pk").values_list("action", flat=True))
    assert actions[-4:] == ["repo.ref.create", "repo.ref.delete", "repo.ref.create", "repo.ref.delete"]


def test_super_squash(client, tokens, repo, alice, seen):
    received, analyses = seen
    commit_create(repo=repo, user=alice, revision="main", header=CommitHeader(summary="one"),
                  operations=[AddFile("a.txt", b"1")])
    received.clear()
    analyses.clear()
    before = _head(repo)
    r = client.post(f"/api/models/{repo.repo_id}/super-squash/main", "{}", content_type="application/json",
                    **auth(tokens["alice"]))
    assert r.status_code == 200, r.content
    event = _one(received, "squash")
    assert event.changes == (events.RefChange("refs/heads/main", before, r.json()["commitOid"]),)
    assert analyses == [(repo.pk, r.json()["commitOid"])]


def test_browser_upload_and_editor_commits(repo, alice, seen):
    received, analyses = seen
    browser = Client()
    browser.force_login(alice)
    before = _head(repo)
    r = browser.post(f"/{repo.repo_id}/upload/main", {"files": [SimpleUploadedFile("u.txt", b"up\n")]})
    assert r.status_code == 302, r.content
    uploaded = _head(repo)
    assert _one(received, "web").changes == (events.RefChange("refs/heads/main", before, uploaded),)
    received.clear()
    r = browser.post(f"/{repo.repo_id}/edit/main/u.txt", {"content": "edited\n", "parent": uploaded})
    assert r.status_code == 302, r.content
    assert _one(received, "web").changes == (events.RefChange("refs/heads/main", uploaded, _head(repo)),)
    assert analyses == [(repo.pk, uploaded), (repo.pk, _head(repo))]  # once per commit


def _landed_push(repo, alice):
    """Move main like receive-pack would, and return the hook's view of the update."""
    git = git_repo(repo)
    old = _head(repo)
    new = git_commit.commit_to_ref(git, ref="refs/heads/main", ops=[git_commit.PutFile("g.txt", b"g")],
                                   author=git_commit.Signature("alice", "alice@example.com"), message="pushed",
                                   expected_head=old)
    return RefUpdate(ref="refs/heads/main", old=old, new=new)


def test_git_push_post_receive(repo, alice, seen):
    received, analyses = seen
    update = _landed_push(repo, alice)
    session = PushSession(repo=repo, user=alice, token=None, ip="127.0.0.9")
    reply = session.handle(HookRequest(hook="post-receive", updates=[update]))
    session.close()
    assert reply.ok
    assert _one(received, "git").changes == (events.RefChange(update.ref, update.old, update.new),)
    assert analyses == [(repo.pk, update.new)]  # exactly once per push (it used to be twice)
    audit = AuditEvent.objects.get(action="repo.push", target=str(repo))
    assert audit.ip == "127.0.0.9" and audit.actor == alice


def test_git_push_interrupted_before_post_receive(repo, alice, seen):
    """receive-pack killed between moving the refs and post-receive: the session's close still
    indexes and announces the updates that landed, and only those."""
    received, analyses = seen
    update = _landed_push(repo, alice)
    never = RefUpdate(ref="refs/heads/other", old=None, new=update.new)
    session = PushSession(repo=repo, user=alice, token=None)
    session.accepted = [update, never]
    session.close()
    assert _one(received, "git").changes == (events.RefChange(update.ref, update.old, update.new),)
    repo.refresh_from_db()
    assert repo.head_sha == update.new
    assert analyses == [(repo.pk, update.new)]


def test_a_failing_subscriber_never_fails_the_write(repo, alice, seen, caplog):
    received, _ = seen

    def broken(event):
        raise RuntimeError("subscriber bug")

    events.subscribe(broken)
    try:
        result = commit_create(repo=repo, user=alice, revision="main", header=CommitHeader(summary="x"),
                               operations=[AddFile("x.txt", b"x")])
    finally:
        events.unsubscribe(broken)
    assert _head(repo) == result.sha
    assert len(received) == 1  # the other subscribers still got it
    assert "subscriber bug" in caplog.text


def test_nothing_is_sent_for_a_rolled_back_change(repo, alice, seen):
    from django.db import transaction

    received, _ = seen
    with pytest.raises(RuntimeError), transaction.atomic():
        events.refs_updated(repo=repo, changes=[("refs/heads/main", None, "a" * 40)], actor=alice, origin="api")
        raise RuntimeError("rollback")
    assert received == []
    assert not AuditEvent.objects.filter(action="repo.ref.create").exists()


def test_no_op_changes_and_unknown_origins(repo, alice, seen):
    received, _ = seen
    sha = _head(repo)
    assert events.refs_updated(repo=repo, changes=[("refs/heads/main", sha, sha)], actor=alice, origin="api") is None
    with pytest.raises(ValueError):
        events.refs_updated(repo=repo, changes=[("refs/heads/x", None, sha)], actor=alice, origin="ftp")  # type: ignore[arg-type]
    assert received == []
