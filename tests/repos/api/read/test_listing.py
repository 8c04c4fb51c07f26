"""Repository lists: visibility, item shape, search, filters, sorting and cursor pagination."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from repos.models import Repository
from tests.factories import RepositoryFactory, bearer, commit, seeded_model

pytestmark = pytest.mark.django_db


def _make_many(user, n: int, prefix: str = "m") -> None:
    for i in range(n):
        RepositoryFactory(owner=user, name=f"{prefix}{i}")


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
    RepositoryFactory(owner=alice, name="gpt-small")
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


@pytest.mark.postgres  # engine-specific SQL: JSON tag containment
def test_models_are_tagged_with_bare_language_codes(client, alice):
    """As on the Hub: `list_models(filter="en")` (0.x: `language="en"`) finds a model whose card
    says `language: en`; a dataset's tag is `language:en`."""
    model = RepositoryFactory(owner=alice, name="english-model")
    commit(model, files={"README.md": b"---\nlanguage: [en, fr]\n---\n"})
    data = RepositoryFactory(owner=alice, name="english-data", repo_type="dataset")
    commit(data, files={"README.md": b"---\nlanguage: en\n---\n"})
    assert [m["id"] for m in client.get("/api/models?filter=en").json()] == ["alice/english-model"]
    assert [d["id"] for d in client.get("/api/datasets?filter=language:en").json()] == ["alice/english-data"]
    assert client.get("/api/datasets?filter=en").json() == []
