"""The discussions API in process: HF shapes and errors, the timeline from the event door,
comment edits with history, hiding, status and title changes, pins and locks, merges with
conflicts and merge rules, reviews and inline threads, notifications (in-app and mail)."""
from __future__ import annotations

import json

import pytest
from django.core import mail

from repos.git import commit as git_commit
from repos.handles import git_repo
from repos.models import Discussion, Notification
from repos.services.commits import AddFile, CommitHeader, commit_create
from tests.factories import auth

pytestmark = pytest.mark.django_db(transaction=True)


def _api(repo) -> str:
    return f"/api/models/{repo.repo_id}/discussions"


def post(client, url, body=None, token=None):
    data = json.dumps(body) if body is not None else ""
    return client.post(url, data, content_type="application/json", **auth(token))


def _main(repo, files):
    git = git_repo(repo)
    head = git.refs("refs/heads/main").get("refs/heads/main")
    sha = git_commit.commit_to_ref(git, ref="refs/heads/main", ops=[git_commit.PutFile(p, d) for p, d in files.items()],
                                   author=git_commit.Signature("alice", "alice@example.com"), message="on main",
                                   expected_head=head)
    return sha


def test_discussion_lifecycle_shapes(client, repo, tokens, alice, bob):
    r = post(client, _api(repo), {"title": "  Hello   world ", "description": "Hi @alice, look", "pullRequest": False},
             tokens["bob"])
    assert r.status_code == 200, r.content
    num = r.json()["num"]
    assert num == 1
    details = client.get(f"{_api(repo)}/{num}?diff=1", **auth(tokens["bob"])).json()
    assert details["title"] == "Hello world" and details["status"] == "open" and not details["isPullRequest"]
    assert details["author"]["name"] == "bob" and details["repo"] == {"name": repo.repo_id, "type": "model"}
    assert details["createdAt"].endswith("Z")
    first = details["events"][0]
    assert first["type"] == "comment" and first["data"]["latest"]["raw"] == "Hi @alice, look"
    assert first["data"]["edited"] is False and first["data"]["hidden"] is False
    assert first["id"] == first["id"].lower() and len(first["id"]) == 24
    # Deterministic: a re-fetch is identical.
    assert client.get(f"{_api(repo)}/{num}?diff=1", **auth(tokens["bob"])).json() == details
    # alice was mentioned: in-app and by mail.
    assert Notification.objects.filter(recipient=alice, kind="mention").count() == 1
    assert any("mentioned you" in m.subject and m.to == ["alice@example.com"] for m in mail.outbox)

    r = post(client, f"{_api(repo)}/{num}/comment", {"comment": "first **bold**"}, tokens["alice"])
    msg = r.json()["newMessage"]
    assert msg["data"]["latest"]["html"] == "<p>first <strong>bold</strong></p>\n"
    cid = msg["id"].upper()
    r = post(client, f"{_api(repo)}/{num}/comment/{cid}/edit", {"content": "second"}, tokens["alice"])
    assert r.status_code == 200, r.content
    edited = r.json()["updatedComment"]["data"]
    assert edited["edited"] is True and edited["latest"]["raw"] == "second" and edited["numEdits"] == 1
    assert [h["raw"] for h in edited["history"]] == ["second", "first **bold**"]
    # Only the author edits; the discussion's author is not the comment's.
    assert post(client, f"{_api(repo)}/{num}/comment/{cid}/edit", {"content": "x"}, tokens["bob"]).status_code == 403
    # Hiding: by the author; others then see no text.
    assert post(client, f"{_api(repo)}/{num}/comment/{cid}/hide", None, tokens["alice"]).status_code == 200
    seen_by_bob = client.get(f"{_api(repo)}/{num}", **auth(tokens["bob"])).json()["events"][1]["data"]
    assert seen_by_bob["hidden"] is True and seen_by_bob["latest"]["raw"] == "" and seen_by_bob["history"] == []

    r = post(client, f"{_api(repo)}/{num}/title", {"title": "New title"}, tokens["bob"])
    assert r.json()["newTitle"]["data"] == {"from": "Hello world", "to": "New title"}
    r = post(client, f"{_api(repo)}/{num}/status", {"status": "closed", "comment": "done"}, tokens["bob"])
    assert r.json()["newStatus"]["data"] == {"status": "closed"}
    types = [e["type"] for e in client.get(f"{_api(repo)}/{num}").json()["events"]]
    assert types == ["comment", "comment", "title-change", "comment", "status-change"]
    assert post(client, f"{_api(repo)}/{num}/title", {"x": 1}, tokens["bob"]).status_code == 400
    assert post(client, f"{_api(repo)}/{num}/title", {"title": "ab"}, tokens["bob"]).status_code == 400
    assert post(client, f"{_api(repo)}/99/comment", {"comment": "x"}, tokens["bob"]).status_code == 404


def test_list_filters_and_pagination(client, repo, tokens):
    for i in range(3):
        post(client, _api(repo), {"title": f"Discussion {i}"}, tokens["bob"])
    post(client, _api(repo), {"title": "A pull request", "pullRequest": True}, tokens["alice"])
    post(client, f"{_api(repo)}/1/status", {"status": "closed"}, tokens["bob"])
    everything = client.get(_api(repo)).json()
    assert [d["num"] for d in everything["discussions"]] == [4, 3, 2, 1]
    assert everything["count"] == 4 and everything["start"] == 0 and everything["numClosedDiscussions"] == 1
    assert [d["num"] for d in client.get(_api(repo), {"type": "pull_request"}).json()["discussions"]] == [4]
    assert [d["num"] for d in client.get(_api(repo), {"status": "open"}).json()["discussions"]] == [4, 3, 2]
    assert [d["num"] for d in client.get(_api(repo), {"status": "closed"}).json()["discussions"]] == [1]
    assert [d["num"] for d in client.get(_api(repo), {"author": "alice"}).json()["discussions"]] == [4]
    assert [d["num"] for d in client.get(_api(repo), {"search": "request"}).json()["discussions"]] == [4]
    assert client.get(_api(repo), {"p": 1}).json() == {"discussions": [], "count": 4, "start": 50,
                                                       "numClosedDiscussions": 1}
    assert client.get(_api(repo), {"status": "bogus"}).status_code == 400
    pr = client.get(f"{_api(repo)}/4").json()
    assert pr["status"] == "draft" and pr["changes"] == {"base": "refs/heads/main", "mergeCommitId": None,
                                                           "behind": 0}
    assert pr["filesWithConflicts"] == []


def test_pull_request_commits_merge_and_rules(client, repo, tokens, alice, bob):
    _main(repo, {"a.txt": b"1\n2\n3\n"})
    opened = commit_create(repo=repo, user=bob, revision="main",
                           header=CommitHeader(summary="Propose", description="why"),
                           operations=[AddFile("b.txt", b"b\n")], create_pr=True)
    num = opened.pull_request.num
    details = client.get(f"{_api(repo)}/{num}?diff=1").json()
    assert [e["type"] for e in details["events"]] == ["comment", "commit"]
    assert details["events"][0]["data"]["latest"]["raw"] == "why"
    assert details["events"][1]["data"] == {"subject": "Propose", "oid": opened.sha}
    assert "b.txt" in details["diff"]
    # A non-writer cannot merge (403, as on the Hub); a draft cannot be merged.
    assert post(client, f"{_api(repo)}/{num}/merge", None, tokens["bob"]).status_code == 403
    r = post(client, f"{_api(repo)}/{num}/merge", None, tokens["alice"])
    assert r.status_code == 409 and "draft" in r.json()["error"]
    post(client, f"{_api(repo)}/{num}/status", {"status": "open"}, tokens["bob"])
    # Merge rules: one approval from a writer; the author cannot approve.
    r = client.put(f"/api/models/{repo.repo_id}/merge-rules", json.dumps({"requiredApprovals": 1}),
                   content_type="application/json", **auth(tokens["alice"]))
    assert r.status_code == 200 and r.json() == {"requiredApprovals": 1, "requiredChecks": []}
    r = post(client, f"{_api(repo)}/{num}/merge", None, tokens["alice"])
    assert r.status_code == 409 and "0 of 1 approvals" in r.json()["error"]
    assert post(client, f"{_api(repo)}/{num}/reviews", {"state": "approved"}, tokens["bob"]).status_code == 403
    assert post(client, f"{_api(repo)}/{num}/reviews", {"state": "approved", "body": "LGTM"},
                tokens["alice"]).status_code == 200
    status = client.get(f"{_api(repo)}/{num}/merge-status").json()
    assert status["mergeable"] is True and status["approvals"] == ["alice"] and status["fastForward"] is True
    # The target moved without conflict: a merge commit.
    _main(repo, {"c.txt": b"c\n"})
    r = post(client, f"{_api(repo)}/{num}/merge", {"comment": "thanks"}, tokens["alice"])
    assert r.status_code == 200, r.content
    merged = client.get(f"{_api(repo)}/{num}").json()
    assert merged["status"] == "merged" and merged["changes"]["mergeCommitId"] == r.json()["mergeCommitId"]
    git = git_repo(repo)
    head = git.resolve("refs/heads/main")
    assert head == r.json()["mergeCommitId"] and len(git.commit_info(head).parents) == 2
    assert git.resolve(f"refs/pr/{num}") == opened.sha  # the PR's ref is kept
    assert [e["type"] for e in merged["events"]][-2:] == ["comment", "status-change"]
    assert merged["events"][-1]["data"]["status"] == "merged"
    # The watcher (alice writes the repo) and the author heard of it.
    assert Notification.objects.filter(recipient=bob, kind="merge").exists()
    assert post(client, f"{_api(repo)}/{num}/merge", None, tokens["alice"]).status_code == 400


def test_conflicts_are_reported_with_file_names(client, repo, tokens, bob):
    _main(repo, {"a.txt": b"1\n2\n3\n"})
    opened = commit_create(repo=repo, user=bob, revision="main", header=CommitHeader(summary="edit a"),
                           operations=[AddFile("a.txt", b"1\n2\nthree\n")], create_pr=True)
    num = opened.pull_request.num
    _main(repo, {"a.txt": b"1\n2\nTHREE\n"})
    details = client.get(f"{_api(repo)}/{num}").json()
    assert details["filesWithConflicts"] == ["a.txt"] and details["changes"]["behind"] == 1
    post(client, f"{_api(repo)}/{num}/status", {"status": "open"}, tokens["bob"])
    r = post(client, f"{_api(repo)}/{num}/merge", None, tokens["alice"])
    assert r.status_code == 409 and "a.txt" in r.json()["error"]
    assert Discussion.objects.get(repository=repo, num=num).status == "open"


def test_git_push_of_the_pr_head_marks_it_merged(client, repo, tokens, bob):
    _main(repo, {"a.txt": b"a\n"})
    opened = commit_create(repo=repo, user=bob, revision="main", header=CommitHeader(summary="p"),
                           operations=[AddFile("p.txt", b"p\n")], create_pr=True)
    commit_create(repo=repo, user=repo.owner, revision="main", header=CommitHeader(summary="ff"),
                  operations=[AddFile("p.txt", b"p\n")])  # a different commit with the same content: not merged
    assert Discussion.objects.get(pk=opened.pull_request.pk).status == "draft"
    from repos.events import refs_updated
    from repos.services.refs import branch_create  # noqa: F401 - the ref move below goes through the door
    git = git_repo(repo)
    old = git.resolve("refs/heads/main")
    merge = git_commit.build_commit(git, parent=old, ops=[], author=git_commit.Signature("a", "a@x"), message="m")
    # A commit whose history contains the PR head (what a pushed merge is).
    raw = git.raw
    tree = raw[merge].tree.id
    sig = raw[merge].author
    merged_sha = str(raw.create_commit(None, sig, sig, "merge by hand", tree, [raw[old].id, raw[opened.sha].id]))
    from django.db import transaction
    git_commit.update_ref(git, "refs/heads/main", merged_sha, expected_old=old)
    with transaction.atomic():
        refs_updated(repo=repo, changes=[("refs/heads/main", old, merged_sha)], actor=repo.owner, origin="git")
    pr = Discussion.objects.get(pk=opened.pull_request.pk)
    assert pr.status == "merged" and pr.merge_commit == merged_sha


def test_inline_threads_and_review_requests(client, repo, tokens, alice, bob):
    _main(repo, {"a.py": b"x = 1\n"})
    opened = commit_create(repo=repo, user=bob, revision="main", header=CommitHeader(summary="p"),
                           operations=[AddFile("a.py", b"x = 2\n")], create_pr=True)
    num = opened.pull_request.num
    r = post(client, f"{_api(repo)}/{num}/comment", {"comment": "why 2?", "path": "a.py", "line": 1},
             tokens["alice"])
    thread = r.json()["newMessage"]["data"]["thread"]
    assert thread["path"] == "a.py" and thread["line"] == 1 and thread["resolved"] is False
    r = post(client, f"{_api(repo)}/{num}/comment", {"comment": "because", "threadId": thread["id"]}, tokens["bob"])
    assert r.json()["newMessage"]["data"]["thread"]["id"] == thread["id"]
    r = post(client, f"{_api(repo)}/{num}/threads/{thread['id']}/resolve", {"resolved": True}, tokens["bob"])
    assert r.json() == {"id": thread["id"], "resolved": True}
    r = post(client, f"{_api(repo)}/{num}/comment", {"comment": "w", "path": "m.safetensors", "tensor": "l.0.w"},
             tokens["alice"])
    assert r.json()["newMessage"]["data"]["thread"]["tensor"] == "l.0.w"
    assert post(client, f"{_api(repo)}/{num}/comment", {"comment": "x", "path": "a.py"},
                tokens["alice"]).status_code == 400
    # Review requests: by the author or writers, to someone who can read.
    assert post(client, f"{_api(repo)}/{num}/review-requests", {"reviewer": "alice"}, tokens["bob"]).status_code == 200
    assert Notification.objects.filter(recipient=alice, kind="review_request").count() == 1
    assert post(client, f"{_api(repo)}/{num}/review-requests", {"reviewer": "nobody"},
                tokens["bob"]).status_code == 404


def test_locked_discussions_and_pins(client, repo, tokens):
    post(client, _api(repo), {"title": "Heated"}, tokens["bob"])
    assert post(client, f"{_api(repo)}/1/lock", {"locked": True}, tokens["bob"]).status_code == 403
    assert post(client, f"{_api(repo)}/1/lock", {"locked": True}, tokens["alice"]).json() == {"locked": True}
    assert post(client, f"{_api(repo)}/1/comment", {"comment": "more"}, tokens["bob"]).status_code == 403
    assert post(client, f"{_api(repo)}/1/comment", {"comment": "calm"}, tokens["alice"]).status_code == 200
    assert post(client, f"{_api(repo)}/1/pin", None, tokens["alice"]).json() == {"pinned": True}
    assert client.get(_api(repo)).json()["discussions"][0]["pinned"] is True


def test_private_repo_discussions_are_missing_for_strangers(client, alice, bob, tokens):
    from repos.services.repos import repo_create

    private = repo_create(user=alice, namespace="alice", name="secret", private=True)
    post(client, _api(private), {"title": "Private talk"}, tokens["alice"])
    for url in (_api(private), f"{_api(private)}/1"):
        hidden = client.get(url, **auth(tokens["bob"]))
        missing = client.get(url.replace("secret", "nothing"), **auth(tokens["bob"]))
        assert hidden.status_code == missing.status_code == 404
        assert hidden.content == missing.content and hidden["X-Error-Code"] == "RepoNotFound"
    assert post(client, f"{_api(private)}/1/comment", {"comment": "x"}, tokens["bob"]).status_code == 404
    assert post(client, f"{_api(private)}/1/comment", {"comment": "x"}).status_code == 404


def test_details_queries_do_not_grow_with_comments(client, repo, tokens, alice, bob, django_assert_max_num_queries):
    from repos.reviews.services.discussions import comment_create, discussion_create

    d = discussion_create(repo=repo, author=bob, title="Many comments")
    url = f"{_api(repo)}/{d.num}"
    client.get(url)
    with django_assert_max_num_queries(3):
        client.get(url)
    for i in range(30):
        comment_create(discussion=d, author=alice if i % 2 else bob, text=f"comment {i}")
    with django_assert_max_num_queries(3):
        assert len(client.get(url).json()["events"]) == 31
    with django_assert_max_num_queries(3):
        client.get(_api(repo))


def test_a_mention_and_a_merge_reach_the_watcher_in_app_and_by_mail(client, repo, tokens, alice, bob):
    from accounts.services.users import user_create
    from repos.reviews.services.notifications import watch_set

    carol = user_create(username="carol", password="carol-password-1", email="carol@example.com")
    watch_set(user=carol, repo=repo, watching=True)  # a reader who watches
    watch_set(user=alice, repo=repo, watching=False)  # the owner (a writer) opted out
    mail.outbox.clear()
    _main(repo, {"a.txt": b"a\n"})
    opened = commit_create(repo=repo, user=bob, revision="main", header=CommitHeader(summary="p"),
                           operations=[AddFile("p.txt", b"p\n")], create_pr=True)
    num = opened.pull_request.num
    post(client, f"{_api(repo)}/{num}/comment", {"comment": "@carol please look"}, tokens["bob"])
    assert Notification.objects.filter(recipient=carol, kind="mention").count() == 1
    assert any(m.to == ["carol@example.com"] and "mentioned you" in m.subject for m in mail.outbox)
    post(client, f"{_api(repo)}/{num}/status", {"status": "open"}, tokens["bob"])
    mail.outbox.clear()
    assert post(client, f"{_api(repo)}/{num}/merge", None, tokens["alice"]).status_code == 200
    assert Notification.objects.filter(recipient=carol, kind="merge").count() == 1
    assert Notification.objects.filter(recipient=bob, kind="merge").count() == 1  # the author takes part
    assert not Notification.objects.filter(recipient=alice).exists()  # unwatched, and the actor
    merged_mail = [m for m in mail.outbox if "merged pull request" in m.subject]
    assert sorted(m.to[0] for m in merged_mail) == ["bob@example.com", "carol@example.com"]
    assert f"/discussions/{num}" in merged_mail[0].body


def test_merge_checks_registry_blocks_until_its_provider_passes(client, repo, tokens, bob):
    from repos.models import MergeRules
    from repos.reviews.checks import CheckResult, register_merge_check, unregister_merge_check

    # "evaluation" has a provider (the jobs app); a check nobody provides blocks every merge.
    _main(repo, {"a.txt": b"a\n"})
    opened = commit_create(repo=repo, user=bob, revision="main", header=CommitHeader(summary="p"),
                           operations=[AddFile("p.txt", b"p\n")], create_pr=True)
    num = opened.pull_request.num
    post(client, f"{_api(repo)}/{num}/status", {"status": "open"}, tokens["bob"])
    MergeRules.objects.create(repository=repo, required_checks=["house-style"])
    r = post(client, f"{_api(repo)}/{num}/merge", None, tokens["alice"])
    assert r.status_code == 409 and "no provider for the required check 'house-style'" in r.json()["error"]
    verdict = {"state": "pending"}
    register_merge_check("house-style", "House style",
                         lambda ctx: CheckResult("house-style", "House style", verdict["state"],
                                                 f"head {ctx.head[:7]}"))
    try:
        assert post(client, f"{_api(repo)}/{num}/merge", None, tokens["alice"]).status_code == 409
        checks = client.get(f"{_api(repo)}/{num}/merge-status").json()["checks"]
        assert {"key": "house-style", "label": "House style", "state": "pending",
                "detail": f"head {opened.sha[:7]}"} in checks
        verdict["state"] = "passed"
        assert post(client, f"{_api(repo)}/{num}/merge", None, tokens["alice"]).status_code == 200
    finally:
        unregister_merge_check("house-style")
