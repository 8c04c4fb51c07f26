"""whoami-v2, repo info, repo lists and auth-check."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from accounts.models import Membership, Organization
from repos.models import Repository
from repos.services.repos import repo_create
from tests.api.read_helpers import (
    CONFIG_OID,
    ZEROS_POINTER_OID,
    ZEROS_SHA256,
    bearer,
    commit,
    seeded_model,
)

pytestmark = pytest.mark.django_db
HF_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


# ---------------------------------------------------------------- whoami


def test_whoami_with_token(client, alice):
    org = Organization.objects.create(name="acme", fullname="ACME")
    Membership.objects.create(organization=org, user=alice, role="admin")
    r = client.get("/api/whoami-v2", **bearer(alice, "read"))
    assert r.status_code == 200
    data = r.json()
    assert data["type"] == "user" and data["name"] == "alice"
    assert data["auth"]["accessToken"] == {"displayName": "test", "role": "read",
                                           "createdAt": data["auth"]["accessToken"]["createdAt"]}
    assert data["orgs"] == [{"type": "org", "id": data["orgs"][0]["id"], "name": "acme", "fullname": "ACME",
                             "roleInOrg": "admin"}]


def test_whoami_without_token(client, db):
    r = client.get("/api/whoami-v2")
    assert r.status_code == 401
    assert r["X-Error-Message"] == "Invalid credentials in Authorization header"


# ---------------------------------------------------------------- info


def test_model_info(client, alice):
    seeded = seeded_model(alice)
    r = client.get("/api/models/alice/tiny-bert")
    assert r.status_code == 200
    data = r.json()
    assert data["id"] == data["modelId"] == "alice/tiny-bert"
    assert re.fullmatch(r"[0-9a-f]{24}", data["_id"])
    assert data["sha"] == seeded.sha and data["author"] == "alice"
    assert HF_DATE.match(data["lastModified"]) and HF_DATE.match(data["createdAt"])
    assert data["private"] is False and data["gated"] is False and data["disabled"] is False
    assert data["downloads"] == 0 and data["likes"] == 0 and data["spaces"] == []
    assert data["pipeline_tag"] == "fill-mask"
    assert "license:mit" in data["tags"] and "bert" in data["tags"]
    assert data["cardData"] == {"license": "mit", "tags": ["bert"], "pipeline_tag": "fill-mask"}
    assert sorted(s["rfilename"] for s in data["siblings"]) == [
        ".gitattributes", "README.md", "config.json", "model.safetensors", "tokenizer/vocab.txt"]
    assert all(set(s) == {"rfilename"} for s in data["siblings"])
    assert data["usedStorage"] == seeded.repo.used_storage > 1024
    assert "xetHash" not in r.content.decode()


def test_model_info_blobs(client, alice):
    seeded_model(alice)
    siblings = {s["rfilename"]: s for s in client.get("/api/models/alice/tiny-bert?blobs=True").json()["siblings"]}
    assert siblings["config.json"] == {"rfilename": "config.json", "size": 23, "blobId": CONFIG_OID}
    assert siblings["model.safetensors"] == {
        "rfilename": "model.safetensors", "size": 1024, "blobId": ZEROS_POINTER_OID,
        "lfs": {"sha256": ZEROS_SHA256, "size": 1024, "pointerSize": 129}}


def test_info_at_revision_describes_that_revision(client, alice):
    seeded = seeded_model(alice)
    first = seeded.sha
    commit(seeded.repo, files={"README.md": b"---\nlicense: apache-2.0\n---\n"}, delete=("config.json",))
    r = client.get(f"/api/models/alice/tiny-bert/revision/{first}")
    data = r.json()
    assert data["sha"] == first
    assert "config.json" in [s["rfilename"] for s in data["siblings"]]
    assert data["cardData"]["license"] == "mit"
    head = client.get("/api/models/alice/tiny-bert/revision/main").json()
    assert head["sha"] != first and head["cardData"] == {"license": "apache-2.0"}
    assert "config.json" not in [s["rfilename"] for s in head["siblings"]]


def test_info_pr_revision(client, alice):
    seeded = seeded_model(alice)
    pr_sha = commit(seeded.repo, files={"x": b"1"}, ref="refs/pr/1", create=True)
    assert client.get("/api/models/alice/tiny-bert/revision/refs/pr/1").json()["sha"] == pr_sha
    assert client.get("/api/models/alice/tiny-bert/revision/refs%2Fpr%2F1").json()["sha"] == pr_sha


def test_info_expand_filters_properties(client, alice):
    seeded = seeded_model(alice)
    data = client.get("/api/models/alice/tiny-bert?expand=sha&expand=downloads").json()
    assert set(data) == {"id", "_id", "sha", "downloads"} and data["sha"] == seeded.sha


def test_info_errors(client, alice, bob):
    seeded_model(alice)
    seeded_model(alice, "secret", private=True)
    assert client.get("/api/models/alice/nope")["X-Error-Code"] == "RepoNotFound"
    assert client.get("/api/datasets/alice/tiny-bert")["X-Error-Code"] == "RepoNotFound"
    r = client.get("/api/models/alice/tiny-bert/revision/nope")
    assert r.status_code == 404 and r["X-Error-Code"] == "RevisionNotFound"
    bob_token = bearer(bob)
    for headers in ({}, bob_token):
        hidden = client.get("/api/models/alice/secret", **headers)
        missing = client.get("/api/models/alice/nope", **headers)
        assert hidden.status_code == missing.status_code == 404
        assert hidden.content == missing.content and hidden["X-Error-Code"] == "RepoNotFound"
        assert dict(hidden.items()) == dict(missing.items())
    assert client.head("/api/models/alice/secret")["X-Error-Code"] == "RepoNotFound"
    assert client.get("/api/models/alice/secret", **bearer(alice, "read")).json()["private"] is True


def test_dataset_and_gated_info(client, alice):
    repo = repo_create(user=alice, namespace="alice", name="ds", repo_type="dataset")
    Repository.objects.filter(pk=repo.pk).update(gated="manual")
    data = client.get("/api/datasets/alice/ds").json()
    assert data["id"] == "alice/ds" and "modelId" not in data
    assert data["gated"] == "manual"
    assert [s["rfilename"] for s in data["siblings"]] == [".gitattributes"]


@pytest.mark.postgres  # the query budget must hold on both engines
def test_info_query_count(client, alice, django_assert_max_num_queries):
    seeded_model(alice)
    headers = bearer(alice)
    client.get("/api/models/alice/tiny-bert", **headers)
    with django_assert_max_num_queries(3):
        assert client.get("/api/models/alice/tiny-bert?blobs=true", **headers).status_code == 200


# ---------------------------------------------------------------- lists


def _make_many(user, n: int, prefix: str = "m") -> None:
    for i in range(n):
        repo_create(user=user, namespace=user.username, name=f"{prefix}{i}")


@pytest.mark.postgres  # engine-specific SQL: JSON tag containment, keyset cursors
def test_list_models_visible_only(client, alice, bob):
    seeded_model(alice, "public-one")
    seeded_model(alice, "private-one", private=True)
    ids = [m["id"] for m in client.get("/api/models").json()]
    assert "alice/public-one" in ids and "alice/private-one" not in ids
    assert "alice/private-one" not in [m["id"] for m in client.get("/api/models", **bearer(bob)).json()]
    assert "alice/private-one" in [m["id"] for m in client.get("/api/models", **bearer(alice, "read")).json()]


def test_list_item_shape(client, alice):
    seeded_model(alice)
    item = client.get("/api/models").json()[0]
    for key in ("id", "_id", "likes", "downloads", "private", "tags", "pipeline_tag", "library_name",
                "createdAt", "lastModified"):
        assert key in item
    assert "siblings" not in item and "cardData" not in item
    full = client.get("/api/models?full=true&cardData=true").json()[0]
    assert full["cardData"]["license"] == "mit" and re.fullmatch(r"[0-9a-f]{40}", full["sha"])


@pytest.mark.postgres  # engine-specific SQL: JSON tag containment, keyset cursors
def test_list_search_author_filter(client, alice, bob):
    seeded_model(alice, "bert-base")
    repo_create(user=alice, namespace="alice", name="gpt-small")
    seeded_model(bob, "bert-large")
    assert {m["id"] for m in client.get("/api/models?search=BERT").json()} == {"alice/bert-base", "bob/bert-large"}
    assert {m["id"] for m in client.get("/api/models?search=bert&search=large").json()} == {"bob/bert-large"}
    assert {m["id"] for m in client.get("/api/models?search=alice/").json()} == {"alice/bert-base", "alice/gpt-small"}
    assert {m["id"] for m in client.get("/api/models?author=bob").json()} == {"bob/bert-large"}
    tagged = client.get("/api/models?filter=license:mit&filter=bert").json()
    assert {m["id"] for m in tagged} == {"alice/bert-base", "bob/bert-large"}
    assert client.get("/api/models?filter=license:mit&filter=nope").json() == []
    assert client.get("/api/models?search=%25").json() == []  # LIKE wildcards are literal
    assert client.get("/api/datasets?search=bert").json() == []


@pytest.mark.postgres  # engine-specific SQL: JSON tag containment, keyset cursors
def test_list_sort_and_direction(client, alice):
    _make_many(alice, 3)
    Repository.objects.filter(name="m1").update(likes=5)
    ids = [m["id"] for m in client.get("/api/models?sort=likes").json()]
    assert ids[0] == "alice/m1"
    created = [m["id"] for m in client.get("/api/models?sort=createdAt&direction=-1").json()]
    assert created == ["alice/m2", "alice/m1", "alice/m0"]
    assert client.get("/api/models?sort=bogus").status_code == 400


@pytest.mark.postgres  # engine-specific SQL: JSON tag containment, keyset cursors
@pytest.mark.parametrize("sort", ["lastModified", "createdAt", "likes", "downloads"])
def test_list_pagination_link_is_absolute_and_complete(client, alice, sort):
    _make_many(alice, 5, prefix="page")
    _make_many(alice, 2, prefix="other")
    Repository.objects.filter(name__in=["page1", "page3"]).update(likes=3)
    url = f"/api/models?search=page&limit=2&sort={sort}&full=true"
    seen = []
    for _ in range(10):
        r = client.get(url)
        assert r.status_code == 200
        seen += [m["id"] for m in r.json()]
        link = r.get("Link")
        if not link:
            break
        m = re.fullmatch(r'<([^>]+)>; rel="next"', link)
        assert m, link
        absolute = m.group(1)
        assert absolute.startswith(settings.PUBLIC_URL + "/api/models?")
        assert "search=page" in absolute and "limit=2" in absolute and f"sort={sort}" in absolute
        assert "full=true" in absolute and "cursor=" in absolute
        parts = urlsplit(absolute)
        url = f"{parts.path}?{parts.query}"
    assert sorted(seen) == sorted(f"alice/page{i}" for i in range(5))
    assert len(seen) == 5


def test_list_bad_cursor_is_400(client, db):
    assert client.get("/api/models?cursor=!!!").status_code == 400
    assert client.get("/api/models?cursor=eyJ2IjpbXX0").status_code == 400  # {"v":[]}


# ---------------------------------------------------------------- auth-check


def test_auth_check(client, alice, bob):
    seeded_model(alice)
    seeded_model(alice, "secret", private=True)
    assert client.get("/api/models/alice/tiny-bert/auth-check").json() == {}
    assert client.get("/api/models/alice/tiny-bert/auth-check/write", **bearer(alice)).status_code == 200
    assert client.get("/api/models/alice/tiny-bert/auth-check/write", **bearer(alice, "read")).status_code == 403
    assert client.get("/api/models/alice/tiny-bert/auth-check/write", **bearer(bob)).status_code == 403
    assert client.get("/api/models/alice/tiny-bert/auth-check/write").status_code == 403
    r = client.get("/api/models/alice/secret/auth-check", **bearer(bob))
    assert r.status_code == 404 and r["X-Error-Code"] == "RepoNotFound"
    assert client.get("/api/models/alice/secret/auth-check/write", **bearer(bob))["X-Error-Code"] == "RepoNotFound"


def test_moved_repo_api_reads_redirect_to_the_new_name(client, alice):
    from repos.services.repos import repo_create, repo_move

    repo = repo_create(user=alice, namespace="alice", name="before-move")
    repo_move(repo=repo, user=alice, namespace="alice", name="after-move")
    response = client.get("/api/models/alice/before-move/tree/main?recursive=true")
    assert response.status_code == 307
    assert response["Location"] == "/api/models/alice/after-move/tree/main?recursive=true"
    assert client.get(response["Location"]).status_code == 200
