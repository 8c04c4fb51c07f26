"""Repository info (`model_info` and friends), auth-check, and reads of a moved repository."""
from __future__ import annotations

import re

import pytest

from tests.factories import (
    CONFIG_OID,
    ZEROS_POINTER_OID,
    ZEROS_SHA256,
    RepositoryFactory,
    bearer,
    commit,
    seeded_model,
)

pytestmark = pytest.mark.django_db
HF_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


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
        # Only the per-request id differs (hub/http/request_id.py).
        assert ({k: v for k, v in hidden.items() if k != "X-Request-Id"}
                == {k: v for k, v in missing.items() if k != "X-Request-Id"})
    assert client.head("/api/models/alice/secret")["X-Error-Code"] == "RepoNotFound"
    assert client.get("/api/models/alice/secret", **bearer(alice, "read")).json()["private"] is True


def test_dataset_and_gated_info(client, alice):
    RepositoryFactory(owner=alice, name="ds", repo_type="dataset", gated="manual")
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
    from repos.services.repos import repo_move

    repo = RepositoryFactory(owner=alice, name="before-move")
    repo_move(repo=repo, user=alice, namespace="alice", name="after-move")
    response = client.get("/api/models/alice/before-move/tree/main?recursive=true")
    assert response.status_code == 307
    assert response["Location"] == "/api/models/alice/after-move/tree/main?recursive=true"
    assert client.get(response["Location"]).status_code == 200
