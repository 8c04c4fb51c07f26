"""The user and organization pages: hidden repositories absent from lists and counts, members."""
from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.factories import MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def test_user_page_lists_only_visible_repos_and_counts(alice, bob, bob_client, make_repo):
    make_repo("open-model")
    make_repo("secret-model", private=True)
    make_repo("open-data", repo_type="dataset")
    for client in (Client(), bob_client):
        page = client.get("/alice").content.decode()
        assert "open-model" in page and "open-data" in page
        assert "secret-model" not in page
        assert re.findall(r"data-count>(\d+)<", page) == ["1", "1"]
    own = Client()
    own.force_login(alice)
    page = own.get("/alice").content.decode()
    assert "secret-model" in page and re.findall(r"data-count>(\d+)<", page) == ["2", "1"]


def test_org_page_members_and_private_repos_for_members_only(alice, bob, bob_client, make_repo):
    org = OrganizationFactory(name="acme", admin=alice)
    make_repo("public-thing", namespace="acme")
    make_repo("private-thing", namespace="acme", private=True)
    anonymous = Client().get("/acme").content.decode()
    assert "public-thing" in anonymous and "private-thing" not in anonymous
    assert "Members" not in anonymous
    assert "private-thing" not in bob_client.get("/acme").content.decode()
    MembershipFactory(org=org, user=bob, role="read", actor=alice)
    page = bob_client.get("/acme").content.decode()
    assert "private-thing" in page and "Members" in page and 'href="/alice"' in page
    assert "/acme/settings/members" not in page  # not an admin
    # The org shows up on bob's page for members only.
    assert 'href="/acme"' in bob_client.get("/bob").content.decode()
    assert 'href="/acme"' not in Client().get("/bob").content.decode()


def test_unknown_namespace_is_the_404_page_and_site_routes_are_not_shadowed(alice_client):
    r = Client().get("/nobody-here")
    assert r.status_code == 404 and "Not found" in r.content.decode()
    assert Client().get("/models").status_code == 200
    assert Client().get("/datasets").status_code == 200
    assert Client().get("/login").status_code == 200
    assert Client().get("/join").status_code == 200
    assert alice_client.get("/new").status_code == 200
    assert alice_client.get("/organizations/new").status_code == 200
