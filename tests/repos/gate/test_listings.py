"""Private repositories do not exist in lists, searches and counts for those who cannot read them."""
from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.repos.gate.world import build_world, make_repo

pytestmark = pytest.mark.django_db
_CSRF = re.compile(rb'(name="csrfmiddlewaretoken" value=|csrf[-_]token" content=)"[^"]*"')


def _seen(client: Client, headers: dict[str, str], url: str, term: str) -> bytes:
    response = client.get(url, **headers)
    assert response.status_code == 200, (url, response.status_code)
    # Blank what legitimately differs between two searches: the term and per-render tokens.
    return _CSRF.sub(b"", response.content).replace(term.encode(), b"<term>")


@pytest.mark.parametrize("url", ["/api/models?search={term}", "/api/models?author=acme&search={term}",
                                 "/models?search={term}", "/?search={term}"])
def test_hidden_private_repos_answer_like_no_match(url):
    world = build_world()
    make_repo(world, "private", name="zq-private-thing")
    client = Client()
    for persona in ("anonymous", "stranger", "other_org", "scoped_elsewhere"):
        headers = world.headers(persona)
        hidden = _seen(client, headers, url.format(term="zq-private"), "zq-private")
        nothing = _seen(client, headers, url.format(term="zz-nothing"), "zz-nothing")
        assert hidden == nothing, persona
        assert b"zq-private-thing" not in hidden
    for persona in ("reader", "contributor", "admin"):
        seen = client.get(url.format(term="zq-private"), **world.headers(persona)).content
        assert b"zq-private-thing" in seen, persona


def test_counts_do_not_include_hidden_repositories():
    world = build_world()
    make_repo(world, "private", name="p1")
    make_repo(world, "public", name="p2")
    client = Client()
    ids = {m["id"] for m in client.get("/api/models?author=acme").json()}
    assert ids == {"acme/p2"}
    ids = {m["id"] for m in client.get("/api/models?author=acme", **world.headers("writer")).json()}
    assert ids == {"acme/p1", "acme/p2"}


def test_pages_and_lists_are_the_same_with_or_without_a_hidden_repo():
    """The org page, lists, search and counts: a private repo changes nothing for outsiders."""
    world = build_world()
    make_repo(world, "public", name="visible-one")
    hidden, _sha = make_repo(world, "private", name="hidden-one")
    urls = ["/acme", "/api/models?author=acme", "/api/models?search=one", "/models?search=one", "/models", "/"]
    outsiders = ("anonymous", "stranger", "other_org", "scoped_elsewhere")
    client = Client()
    with_hidden = {(p, u): _seen(client, world.headers(p), u, "\0") for p in outsiders for u in urls}
    assert b"hidden-one" in client.get("/acme", **world.headers("reader")).content
    hidden.delete()
    for persona in outsiders:
        for url in urls:
            assert with_hidden[(persona, url)] == _seen(client, world.headers(persona), url, "\0"), (persona, url)
