"""list_repo_tree and get_paths_info."""
from __future__ import annotations

import json
import re
from urllib.parse import quote, urlsplit

import pytest
from django.conf import settings

from tests.factories import CONFIG_OID, ZEROS_POINTER_OID, ZEROS_SHA256, bearer, commit, seeded_model

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(alice):
    return seeded_model(alice)


def by_path(entries):
    return {e["path"]: e for e in entries}


def test_tree_root(client, seeded):
    r = client.get("/api/models/alice/tiny-bert/tree/main?recursive=false&expand=false")
    assert r.status_code == 200
    entries = by_path(r.json())
    assert set(entries) == {".gitattributes", "README.md", "config.json", "model.safetensors", "tokenizer"}
    assert entries["config.json"] == {"type": "file", "oid": CONFIG_OID, "size": 23, "path": "config.json"}
    assert entries["model.safetensors"] == {
        "type": "file", "oid": ZEROS_POINTER_OID, "size": 1024, "path": "model.safetensors",
        "lfs": {"oid": ZEROS_SHA256, "size": 1024, "pointerSize": 129}}
    assert entries["tokenizer"]["type"] == "directory" and entries["tokenizer"]["size"] == 0
    assert re.fullmatch(r"[0-9a-f]{40}", entries["tokenizer"]["oid"])
    assert "Link" not in r


def test_tree_recursive_and_subfolder(client, seeded):
    paths = set(by_path(client.get("/api/models/alice/tiny-bert/tree/main?recursive=true").json()))
    assert {"tokenizer", "tokenizer/vocab.txt", "config.json"} <= paths
    sub = client.get("/api/models/alice/tiny-bert/tree/main/tokenizer").json()
    assert [e["path"] for e in sub] == ["tokenizer/vocab.txt"]


def test_tree_encoded_revision_and_path(client, seeded):
    commit(seeded.repo, files={"a/b/c.txt": b"x"}, ref="feature/x", create=True)
    # WSGI decodes %2F, so these arrive as tree/feature/x/a/b.
    r = client.get("/api/models/alice/tiny-bert/tree/" + quote("feature/x", safe="") + "/" + quote("a/b", safe=""))
    assert r.status_code == 200 and [e["path"] for e in r.json()] == ["a/b/c.txt"]
    commit(seeded.repo, files={"p/q.txt": b"x"}, ref="refs/pr/1", create=True)
    assert [e["path"] for e in client.get("/api/models/alice/tiny-bert/tree/refs%2Fpr%2F1/p").json()] == ["p/q.txt"]
    r = client.get(f"/api/models/alice/tiny-bert/tree/{seeded.sha}/tokenizer")
    assert r.status_code == 200


def test_tree_expand_last_commit(client, seeded):
    entries = by_path(client.get("/api/models/alice/tiny-bert/tree/main?expand=true").json())
    last = entries["config.json"]["lastCommit"]
    assert last["id"] == seeded.sha and last["title"] == "Upload model"
    assert last["date"].endswith("Z")
    assert entries[".gitattributes"]["lastCommit"]["title"] == "initial commit"


@pytest.mark.parametrize("method", ["get", "head"])
@pytest.mark.parametrize("path", ["missing", "config.json", "additional_chat_templates", "..%2Fx"])
def test_tree_missing_path(client, seeded, method, path):
    r = getattr(client, method)(f"/api/models/alice/tiny-bert/tree/main/{path}?recursive=false&expand=false")
    assert r.status_code == 404
    assert r["X-Error-Code"] == "EntryNotFound" and r["X-Repo-Commit"] == seeded.sha


def test_tree_errors(client, seeded, bob):
    r = client.get("/api/models/alice/tiny-bert/tree/nope")
    assert r.status_code == 404 and r["X-Error-Code"] == "RevisionNotFound"
    assert client.get("/api/models/alice/missing/tree/main")["X-Error-Code"] == "RepoNotFound"
    seeded_model(seeded.repo.owner, "secret", private=True)
    assert client.get("/api/models/alice/secret/tree/main", **bearer(bob))["X-Error-Code"] == "RepoNotFound"
    assert client.get("/api/models/alice/tiny-bert/tree/main?cursor=nope").status_code == 400


def test_tree_pagination(client, seeded, monkeypatch):
    from repos.selectors import tree as tree_selector

    all_at_once = client.get("/api/models/alice/tiny-bert/tree/main?recursive=true").json()
    monkeypatch.setattr(tree_selector, "TREE_PAGE_SIZE", 2)
    url = "/api/models/alice/tiny-bert/tree/main?recursive=true&expand=false"
    seen = []
    while url:
        r = client.get(url)
        assert r.status_code == 200
        seen += [e["path"] for e in r.json()]
        link = r.get("Link")
        if not link:
            break
        absolute = re.fullmatch(r'<([^>]+)>; rel="next"', link).group(1)
        assert absolute.startswith(f"{settings.PUBLIC_URL}/api/models/alice/tiny-bert/tree/{seeded.sha}?")
        assert "recursive=true" in absolute and "expand=false" in absolute
        parts = urlsplit(absolute)
        url = f"{parts.path}?{parts.query}"
    assert seen == [e["path"] for e in all_at_once] and len(seen) == 6


@pytest.mark.postgres  # the query budget must hold on both engines
def test_tree_query_count(client, seeded, django_assert_max_num_queries):
    headers = bearer(seeded.repo.owner)
    client.get("/api/models/alice/tiny-bert/tree/main", **headers)
    with django_assert_max_num_queries(3):
        client.get("/api/models/alice/tiny-bert/tree/main?recursive=true", **headers)


def test_paths_info_form(client, seeded):
    r = client.post("/api/models/alice/tiny-bert/paths-info/main",
                    "paths=model.safetensors&paths=missing&paths=tokenizer&paths=config.json&expand=false",
                    content_type="application/x-www-form-urlencoded")
    assert r.status_code == 200
    data = r.json()
    assert [e["path"] for e in data] == ["model.safetensors", "tokenizer", "config.json"]
    assert data[0]["lfs"]["oid"] == ZEROS_SHA256 and data[0]["size"] == 1024
    assert data[1]["type"] == "directory"
    assert "lastCommit" not in data[2]


def test_paths_info_json_and_expand(client, seeded):
    r = client.post("/api/models/alice/tiny-bert/paths-info/main",
                    json.dumps({"paths": ["config.json", "../etc/passwd", "nope"], "expand": True}),
                    content_type="application/json")
    data = r.json()
    assert [e["path"] for e in data] == ["config.json"]
    assert data[0]["lastCommit"]["id"] == seeded.sha


def test_paths_info_errors(client, seeded):
    url = "/api/models/alice/tiny-bert/paths-info/"
    assert client.post(url + "nope", "paths=x", content_type="application/x-www-form-urlencoded")[
        "X-Error-Code"] == "RevisionNotFound"
    assert client.post(url + "main", "{", content_type="application/json").status_code == 400
    assert client.post(url + "main", json.dumps({"paths": [1]}), content_type="application/json").status_code == 400
    assert client.get(url + "main").status_code == 405
    assert client.post(url + "main", "", content_type="application/x-www-form-urlencoded").json() == []
