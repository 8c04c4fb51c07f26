"""list_repo_refs and list_repo_commits."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from repos.git.commit import update_ref
from repos.handles import git_repo
from tests.factories import bearer, commit, seeded_model

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(alice):
    return seeded_model(alice)


def test_refs(client, seeded):
    git = git_repo(seeded.repo)
    update_ref(git, "refs/tags/v1.0", seeded.sha, expected_old=None)
    pr = commit(seeded.repo, files={"x": b"1"}, ref="refs/pr/2", create=True)
    data = client.get("/api/models/alice/tiny-bert/refs").json()
    assert data["branches"] == [{"name": "main", "ref": "refs/heads/main", "targetCommit": seeded.sha}]
    assert data["tags"] == [{"name": "v1.0", "ref": "refs/tags/v1.0", "targetCommit": seeded.sha}]
    assert data["converts"] == [] and "pullRequests" not in data
    data = client.get("/api/models/alice/tiny-bert/refs?include_prs=1").json()
    assert data["pullRequests"] == [{"name": "refs/pr/2", "ref": "refs/pr/2", "targetCommit": pr}]


def test_refs_annotated_tag_is_peeled(client, seeded):
    raw = git_repo(seeded.repo).raw
    import pygit2

    raw.create_tag("v2", pygit2.Oid(hex=seeded.sha), pygit2.enums.ObjectType.COMMIT,
                   pygit2.Signature("a", "a@example.com"), "annotated")
    tags = client.get("/api/models/alice/tiny-bert/refs").json()["tags"]
    assert tags == [{"name": "v2", "ref": "refs/tags/v2", "targetCommit": seeded.sha}]


def test_commits(client, alice, seeded):
    data = client.get("/api/models/alice/tiny-bert/commits/main").json()
    assert [c["title"] for c in data] == ["Upload model", "initial commit"]
    newest = data[0]
    assert newest["id"] == seeded.sha
    assert newest["message"] == "With a description & <tags>"
    assert newest["authors"] == [{"user": "alice"}]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", newest["date"])
    assert "formatted" not in newest
    formatted = client.get("/api/models/alice/tiny-bert/commits/main?expand[]=formatted").json()[0]["formatted"]
    assert formatted["message"] == "With a description &amp; &lt;tags&gt;"


def test_commits_errors(client, seeded, bob):
    assert client.get("/api/models/alice/tiny-bert/commits/nope")["X-Error-Code"] == "RevisionNotFound"
    seeded_model(seeded.repo.owner, "secret", private=True)
    assert client.get("/api/models/alice/secret/commits/main", **bearer(bob))["X-Error-Code"] == "RepoNotFound"
    assert client.get("/api/models/alice/secret/refs", **bearer(bob))["X-Error-Code"] == "RepoNotFound"


def test_commits_pagination(client, seeded):
    for i in range(4):
        commit(seeded.repo, files={f"f{i}": b"x"}, message=f"c{i}")
    url = "/api/models/alice/tiny-bert/commits/main?limit=2"
    titles = []
    while True:
        r = client.get(url)
        titles += [c["title"] for c in r.json()]
        link = r.get("Link")
        if not link:
            break
        absolute = re.fullmatch(r'<([^>]+)>; rel="next"', link).group(1)
        assert absolute.startswith(f"{settings.PUBLIC_URL}/api/models/alice/tiny-bert/commits/")
        assert "limit=2" in absolute
        parts = urlsplit(absolute)
        url = f"{parts.path}?{parts.query}"
    assert titles == ["c3", "c2", "c1", "c0", "Upload model", "initial commit"]


def test_commits_of_pr_ref(client, seeded):
    pr = commit(seeded.repo, files={"x": b"1"}, ref="refs/pr/1", create=True, message="PR change")
    data = client.get("/api/models/alice/tiny-bert/commits/refs%2Fpr%2F1").json()
    assert data[0]["id"] == pr and data[0]["title"] == "PR change"
