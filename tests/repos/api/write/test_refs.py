"""Branches, tags and super-squash through the Django test client."""
from __future__ import annotations

import json

import pytest

from repos.handles import git_repo
from tests.factories import CollaboratorFactory, auth, commit_service

pytestmark = pytest.mark.django_db


def call(client, method, repo, what, rev, token, body=None):
    url = f"/api/models/{repo.repo_id}/{what}/{rev}"
    kwargs = {"data": json.dumps(body), "content_type": "application/json"} if body is not None else {}
    return getattr(client, method)(url, **kwargs, **auth(token))


def add(repo, user, path, content=b"x", revision="main", create_pr=False):
    """Commit `path` through the commit service (policy, index, event), as the API would."""
    return commit_service(repo, user=user, files={path: content}, revision=revision, summary=f"add {path}",
                          create_pr=create_pr).sha


# ---------------------------------------------------------------------- branches


def test_create_branch_from_default_and_starting_points(client, tokens, repo, alice):
    git = git_repo(repo)
    first = git.resolve("main")
    second = add(repo, alice, "a.txt")
    r = call(client, "post", repo, "branch", "dev", tokens["alice"], {})
    assert r.status_code == 200, r.content
    assert git.resolve("refs/heads/dev") == second
    assert call(client, "post", repo, "branch", "feature%2Fold", tokens["alice"],
                {"startingPoint": first[:7]}).status_code == 200
    assert git.resolve("refs/heads/feature/old") == first
    call(client, "post", repo, "tag", "main", tokens["alice"], {"tag": "v1"})
    # A branch may share a tag's name, and may start from a tag.
    assert call(client, "post", repo, "branch", "v1", tokens["alice"], {"startingPoint": "v1"}).status_code == 200
    assert git.resolve("refs/heads/v1") == second
    # No body at all (as some clients send) is fine too.
    r = client.generic("POST", f"/api/models/{repo.repo_id}/branch/nobody", b"", content_type="",
                       **auth(tokens["alice"]))
    assert r.status_code == 200, r.content


def test_create_branch_errors(client, tokens, repo):
    git = git_repo(repo)
    call(client, "post", repo, "branch", "dev", tokens["alice"], {})
    r = call(client, "post", repo, "branch", "dev", tokens["alice"], {})
    assert r.status_code == 409 and r["X-Error-Message"] == "Reference refs/heads/dev already exists"
    for name in ("refs%2Fpr%2F5", "--upload-pack=x", "a..b", "bad%20name", "HEAD", "x.lock"):
        r = call(client, "post", repo, "branch", name, tokens["alice"], {})
        assert r.status_code == 400, name
        assert r["X-Error-Message"].startswith("Invalid reference for a branch")
    for start in ("--upload-pack=touch /tmp/x", "nope", "main~1", "0" * 40):
        r = call(client, "post", repo, "branch", "fresh", tokens["alice"], {"startingPoint": start})
        assert r.status_code == 404 and r["X-Error-Code"] == "RevisionNotFound", start
    assert set(git.branches()) == {"main", "dev"}


def test_branch_rights(client, tokens, repo):
    assert call(client, "post", repo, "branch", "b", tokens["bob"], {}).status_code == 403
    assert call(client, "post", repo, "branch", "b", tokens["alice_read"], {}).status_code == 403
    assert call(client, "post", repo, "branch", "b", None, {}).status_code == 401
    assert call(client, "delete", repo, "branch", "main", tokens["bob"]).status_code == 403
    assert "b" not in git_repo(repo).branches()


def test_delete_branch(client, tokens, repo):
    call(client, "post", repo, "branch", "dev", tokens["alice"], {})
    assert call(client, "delete", repo, "branch", "dev", tokens["alice"]).status_code == 200
    assert "dev" not in git_repo(repo).branches()
    r = call(client, "delete", repo, "branch", "dev", tokens["alice"])
    assert r.status_code == 404 and r["X-Error-Code"] == "RevisionNotFound"
    r = call(client, "delete", repo, "branch", "main", tokens["alice"])
    assert r.status_code == 403 and "The default branch (main) cannot be deleted" in r["X-Error-Message"]
    call(client, "post", repo, "tag", "main", tokens["alice"], {"tag": "v1"})
    r = call(client, "delete", repo, "branch", "v1", tokens["alice"])  # a tag is not a branch
    assert r.status_code == 404 and r["X-Error-Code"] == "RevisionNotFound"
    assert "main" in git_repo(repo).branches() and "v1" in git_repo(repo).tags()


# ---------------------------------------------------------------------- tags


def test_lightweight_and_annotated_tags(client, tokens, repo, alice):
    git = git_repo(repo)
    main = git.resolve("main")
    assert call(client, "post", repo, "tag", "main", tokens["alice"], {"tag": "v1"}).status_code == 200
    r = call(client, "post", repo, "tag", main[:7], tokens["alice"], {"tag": "v2", "message": "Release 2"})
    assert r.status_code == 200, r.content
    assert git.tags() == {"v1": main, "v2": main}
    tag_object = git.refs("refs/tags/v2")  # peeled value for readers
    assert tag_object["refs/tags/v2"] == main
    assert r.json()["targetCommit"] != main  # the annotated tag object
    add(repo, alice, "p.txt", create_pr=True)
    pr_head = git.resolve("refs/pr/1")
    assert call(client, "post", repo, "tag", "refs%2Fpr%2F1", tokens["alice"], {"tag": "pr-tag"}).status_code == 200
    assert git.tags()["pr-tag"] == pr_head


def test_tag_errors(client, tokens, repo):
    call(client, "post", repo, "tag", "main", tokens["alice"], {"tag": "v1"})
    assert call(client, "post", repo, "tag", "main", tokens["alice"], {"tag": "v1"}).status_code == 409
    r = call(client, "post", repo, "tag", "nope", tokens["alice"], {"tag": "v9"})
    assert r.status_code == 404 and r["X-Error-Code"] == "RevisionNotFound"
    r = call(client, "post", repo, "tag", "--upload-pack=x", tokens["alice"], {"tag": "v9"})
    assert r.status_code == 404 and r["X-Error-Code"] == "RevisionNotFound"
    for bad in ("with space", "-v", "a..b", "refs/tags/x"):
        assert call(client, "post", repo, "tag", "main", tokens["alice"], {"tag": bad}).status_code == 400, bad
    assert call(client, "post", repo, "tag", "main", tokens["alice"], {}).status_code == 400
    assert call(client, "post", repo, "tag", "main", tokens["bob"], {"tag": "v5"}).status_code == 403
    assert set(git_repo(repo).tags()) == {"v1"}


def test_delete_tags(client, tokens, repo):
    call(client, "post", repo, "tag", "main", tokens["alice"], {"tag": "v1"})
    call(client, "post", repo, "tag", "main", tokens["alice"], {"tag": "v2", "message": "annotated"})
    assert call(client, "delete", repo, "tag", "v1", tokens["alice"]).status_code == 200
    assert call(client, "delete", repo, "tag", "v2", tokens["alice"]).status_code == 200
    assert git_repo(repo).tags() == {}
    r = call(client, "delete", repo, "tag", "v1", tokens["alice"])
    assert r.status_code == 404 and r["X-Error-Code"] == "RevisionNotFound"
    assert call(client, "delete", repo, "tag", "--x", tokens["alice"]).status_code == 404


# ---------------------------------------------------------------------- super-squash


def test_super_squash_branch_and_pr(client, tokens, repo, alice):
    git = git_repo(repo)
    add(repo, alice, "a.txt")
    add(repo, alice, "b.txt")
    call(client, "post", repo, "branch", "keep", tokens["alice"], {})
    old_tree = git.get_entry(git.resolve("main"), "").oid
    r = call(client, "post", repo, "super-squash", "main", tokens["alice"], {"message": "Squashed"})
    assert r.status_code == 200, r.content
    new = git.resolve("main")
    info = git.commit_info(new)
    assert info.parents == [] and info.title == "Squashed" and r.json()["commitOid"] == new
    assert git.get_entry(new, "").oid == old_tree
    assert git.count_commits(git.resolve("keep")) == 3  # other branches keep their history
    repo.refresh_from_db()
    assert repo.head_sha == new
    add(repo, alice, "p.txt", create_pr=True)
    r = call(client, "post", repo, "super-squash", "refs%2Fpr%2F1", tokens["alice"], {"message": "pr"})
    assert r.status_code == 200
    assert git.commit_info(git.resolve("refs/pr/1")).parents == []


def test_super_squash_errors(client, tokens, repo):
    r = call(client, "post", repo, "super-squash", "ghost", tokens["alice"], {"message": "x"})
    assert r.status_code == 404 and r["X-Error-Code"] == "RevisionNotFound"
    r = call(client, "post", repo, "super-squash", "--upload-pack=x", tokens["alice"], {"message": "x"})
    assert r.status_code == 404 and r["X-Error-Code"] == "RevisionNotFound"
    before = git_repo(repo).resolve("main")
    assert call(client, "post", repo, "super-squash", "main", tokens["bob"], {"message": "x"}).status_code == 403
    assert git_repo(repo).resolve("main") == before


def test_super_squash_of_the_default_branch_needs_admin(client, tokens, repo, alice, bob):
    """SECURITY.md T31: a writer may squash other branches but not rewrite the protected one."""
    CollaboratorFactory(repo=repo, user=bob, role="write", actor=alice)
    add(repo, alice, "a.txt")
    call(client, "post", repo, "branch", "side", tokens["alice"], {})
    git = git_repo(repo)
    before = git.resolve("main")
    r = call(client, "post", repo, "super-squash", "main", tokens["bob"], {"message": "x"})
    assert r.status_code == 403 and "admin" in r.json()["error"]
    assert git.resolve("main") == before
    r = call(client, "post", repo, "super-squash", "side", tokens["bob"], {"message": "x"})
    assert r.status_code == 200 and git.commit_info(git.resolve("side")).parents == []
