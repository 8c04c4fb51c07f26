"""Every read endpoint, HEAD and GET: the HF error code clients map exceptions from."""
from __future__ import annotations

import pytest

from tests.factories import bearer, seeded_model

pytestmark = pytest.mark.django_db

REPO_URLS = [
    "/api/models/{repo}",
    "/api/models/{repo}/revision/main",
    "/api/models/{repo}/tree/main",
    "/api/models/{repo}/refs",
    "/api/models/{repo}/commits/main",
    "/api/models/{repo}/auth-check",
    "/{repo}/resolve/main/config.json",
]
REVISION_URLS = [
    "/api/models/{repo}/revision/nope",
    "/api/models/{repo}/tree/nope",
    "/api/models/{repo}/tree/nope/tokenizer",
    "/api/models/{repo}/commits/nope",
    "/{repo}/resolve/nope/config.json",
]


@pytest.fixture
def repos(alice):
    seeded_model(alice)
    seeded_model(alice, "secret", private=True)


@pytest.mark.parametrize("method", ["head", "get"])
@pytest.mark.parametrize("url", REPO_URLS)
@pytest.mark.parametrize("repo", ["alice/missing", "alice/secret"])
def test_repo_not_found(client, repos, bob, method, url, repo):
    r = getattr(client, method)(url.format(repo=repo), **bearer(bob, "read"))
    assert r.status_code == 404
    assert r["X-Error-Code"] == "RepoNotFound"
    assert r["X-Error-Message"] == "Repository not found"


@pytest.mark.parametrize("method", ["head", "get"])
@pytest.mark.parametrize("url", REVISION_URLS)
def test_revision_not_found(client, repos, method, url):
    r = getattr(client, method)(url.format(repo="alice/tiny-bert"))
    assert r.status_code == 404 and r["X-Error-Code"] == "RevisionNotFound"


@pytest.mark.parametrize("rev", ["main..HEAD", "HEAD@{1}", "--upload-pack=x", "a" * 2000])
def test_odd_revisions_are_revision_not_found(client, repos, rev):
    for url in ("/api/models/alice/tiny-bert/revision/{rev}", "/alice/tiny-bert/resolve/{rev}/config.json",
                "/api/models/alice/tiny-bert/commits/{rev}"):
        r = client.get(url.format(rev=rev))
        assert r.status_code == 404 and r["X-Error-Code"] == "RevisionNotFound", (url, rev)


def test_paths_info_repo_not_found(client, repos, bob):
    for repo in ("alice/missing", "alice/secret"):
        r = client.post(f"/api/models/{repo}/paths-info/main", "paths=config.json",
                        content_type="application/x-www-form-urlencoded", **bearer(bob))
        assert r.status_code == 404 and r["X-Error-Code"] == "RepoNotFound"


def test_wrong_methods_are_json_405(client, repos):
    for url in ("/api/models/alice/tiny-bert", "/api/models/alice/tiny-bert/refs", "/api/models"):
        r = client.post(url)
        assert r.status_code == 405 and r.json()["error"]


@pytest.mark.parametrize("method", ["head", "get"])
@pytest.mark.parametrize("url", ["/api/models/no-such-repo", "/api/datasets/no-such-repo",
                                 "/api/models/no-such-repo/revision/main", "/no-such-repo/resolve/main/config.json",
                                 "/datasets/no-such-repo/resolve/main/data.csv"])
def test_an_id_without_namespace_is_a_missing_repo(client, method, url):
    """The Hub's legacy ids (`gpt2`) name no repository here: RepoNotFound in JSON, so the
    client's repo_exists/file_exists answer False."""
    r = getattr(client, method)(url)
    assert r.status_code == 404
    assert r["X-Error-Code"] == "RepoNotFound" and r["Content-Type"] == "application/json"
    if method == "get":
        assert r.json() == {"error": "Repository not found"}
