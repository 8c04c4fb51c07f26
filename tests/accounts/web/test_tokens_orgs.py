"""Token pages, organization pages and the user/org pages (hidden repos absent from lists and counts)."""
from __future__ import annotations

import re

import pytest
from django.test import Client

from accounts.models import AccessToken, Membership, Organization
from accounts.services.orgs import membership_add, org_create
from accounts.services.tokens import token_create

pytestmark = pytest.mark.django_db

SECRET = re.compile(r"<pre data-token-secret>(hf_[\w\-]+)</pre>")


def _whoami(key: str) -> int:
    return Client().get("/api/whoami-v2", HTTP_AUTHORIZATION=f"Bearer {key}").status_code


# ----------------------------------------------------------------------------- tokens


def test_create_a_write_token_shown_once_then_revoke_it(alice, alice_client):
    r = alice_client.post("/settings/tokens", {"name": "laptop", "role": "write", "expires": "30"})
    assert r.status_code == 200
    assert "no-store" in r["Cache-Control"]
    key = SECRET.search(r.content.decode()).group(1)
    token = AccessToken.objects.get(user=alice, name="laptop")
    assert token.role == "write" and token.expires_at is not None
    assert token.key_hash == AccessToken.hash_key(key)
    assert _whoami(key) == 200
    listing = alice_client.get("/settings/tokens").content.decode()
    assert "laptop" in listing and key not in listing and token.prefix in listing

    r = alice_client.post(f"/settings/tokens/{token.pk}/revoke")
    assert r.status_code == 302
    assert _whoami(key) == 401
    after = alice_client.get("/settings/tokens").content.decode()
    assert "revoked" in after and 'data-token-row="laptop"' not in after


def test_fine_grained_token_with_a_repo_scope(alice, alice_client, make_repo):
    repo = make_repo("scoped", private=True)
    other = make_repo("other", private=True)
    page = alice_client.get("/settings/tokens").content.decode()
    assert 'value="model:alice/scoped"' in page
    r = alice_client.post("/settings/tokens", {"name": "ci", "role": "fineGrained", "scope_access": "read",
                                               "scope_repos": ["model:alice/scoped"]})
    assert r.status_code == 200
    key = SECRET.search(r.content.decode()).group(1)
    scopes = list(AccessToken.objects.get(name="ci").scopes.all())
    assert [(s.repository_id, s.access) for s in scopes] == [(repo.pk, "read")]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    assert Client().get("/api/models/alice/scoped", **auth).status_code == 200
    assert Client().get(f"/api/models/{other.repo_id}", **auth).status_code == 404


def test_fine_grained_token_with_an_org_scope_can_write_there_only(alice, bob, alice_client, make_repo):
    org = org_create(user=alice, name="acme")
    make_repo("org-repo", namespace="acme", private=True)
    make_repo("mine", private=True)
    assert 'value="acme"' in alice_client.get("/settings/tokens").content.decode()
    r = alice_client.post("/settings/tokens", {"name": "org-ci", "role": "fineGrained", "scope_access": "write",
                                               "scope_orgs": ["acme"]})
    key = SECRET.search(r.content.decode()).group(1)
    scope = AccessToken.objects.get(name="org-ci").scopes.get()
    assert (scope.organization_id, scope.access) == (org.pk, "write")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    assert Client().get("/api/models/acme/org-repo", **auth).status_code == 200
    assert Client().get("/api/models/alice/mine", **auth).status_code == 404
    # An organization the user is not in cannot be chosen.
    org_create(user=bob, name="other")
    r = alice_client.post("/settings/tokens", {"name": "x", "role": "fineGrained", "scope_orgs": ["other"]})
    assert r.status_code == 400 and not AccessToken.objects.filter(name="x").exists()


def test_fine_grained_token_needs_a_scope_and_bad_input_is_400(alice, alice_client):
    r = alice_client.post("/settings/tokens", {"name": "empty", "role": "fineGrained"})
    assert r.status_code == 400 and "at least one" in r.content.decode()
    r = alice_client.post("/settings/tokens", {"name": "x", "role": "fineGrained",
                                               "scope_repos": ["model:bob/not-mine"]})
    assert r.status_code == 400
    assert alice_client.post("/settings/tokens", {"name": "", "role": "root"}).status_code == 400
    assert not AccessToken.objects.filter(user=alice).exists()


def test_cannot_revoke_someone_elses_token(alice, bob, alice_client):
    token, key = token_create(user=bob, name="bobs", role="read")
    assert alice_client.post(f"/settings/tokens/{token.pk}/revoke").status_code == 404
    assert _whoami(key) == 200


def test_token_pages_refuse_token_callers_with_a_read_token(alice):
    _token, key = token_create(user=alice, name="ro", role="read")
    r = Client().get("/settings/tokens", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert r.status_code == 403


# ----------------------------------------------------------------------------- organizations


def test_create_an_org_then_invite_change_and_remove_a_member(alice, bob, alice_client):
    r = alice_client.post("/organizations/new", {"name": "acme", "fullname": "Acme Corp"})
    assert r.status_code == 302 and r["Location"] == "/acme"
    org = Organization.objects.get(name="acme")
    assert Membership.objects.get(organization=org, user=alice).role == "admin"

    page = alice_client.get("/acme/settings/members")
    assert page.status_code == 200 and "Invite a member" in page.content.decode()
    r = alice_client.post("/acme/settings/members", {"username": "bob", "role": "read"})
    assert r.status_code == 302
    assert Membership.objects.get(organization=org, user=bob).role == "read"
    # Adding twice is refused with a message, not an error page.
    again = alice_client.post("/acme/settings/members", {"username": "bob", "role": "read"})
    assert again.status_code == 409 and "already a member" in again.content.decode()
    missing = alice_client.post("/acme/settings/members", {"username": "nobody", "role": "read"})
    assert missing.status_code == 404 and "not found" in missing.content.decode()

    alice_client.post("/acme/settings/members/bob/role", {"role": "write"})
    assert Membership.objects.get(organization=org, user=bob).role == "write"
    # The last admin cannot demote themselves.
    r = alice_client.post("/acme/settings/members/alice/role", {"role": "read"}, follow=True)
    assert "at least one admin" in r.content.decode()
    assert Membership.objects.get(organization=org, user=alice).role == "admin"
    alice_client.post("/acme/settings/members/bob/remove")
    assert not Membership.objects.filter(organization=org, user=bob).exists()
    # Every change is in the organization's audit log, on the page and in its JSON export.
    page = alice_client.get("/acme/settings/members").content.decode()
    for action in ("org.create", "org.member.add", "org.change_role", "org.member.remove"):
        assert action in page
    assert 'href="/api/organizations/acme/audit"' in page
    export = alice_client.get("/api/organizations/acme/audit")
    assert export.status_code == 200 and "org.member.remove" in [e["action"] for e in export.json()]


def test_org_names_share_the_namespace_and_reserved_names_are_refused(alice, bob, alice_client):
    assert alice_client.post("/organizations/new", {"name": "bob"}).status_code == 409
    r = alice_client.post("/organizations/new", {"name": "settings"})
    assert r.status_code == 400 and "reserved" in r.content.decode()
    assert not Organization.objects.exists()


def test_member_management_is_for_org_admins(alice, bob, bob_client):
    org = org_create(user=alice, name="acme")
    assert bob_client.get("/acme/settings/members").status_code == 403
    membership_add(org=org, user=bob, role="write", actor=alice)
    assert bob_client.get("/acme/settings/members").status_code == 403
    assert bob_client.post("/acme/settings/members/alice/remove").status_code == 403
    assert Membership.objects.filter(organization=org, user=alice).exists()
    assert bob_client.get("/nope/settings/members").status_code == 404


# ----------------------------------------------------------------------------- user and org pages


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
    org = org_create(user=alice, name="acme")
    make_repo("public-thing", namespace="acme")
    make_repo("private-thing", namespace="acme", private=True)
    anonymous = Client().get("/acme").content.decode()
    assert "public-thing" in anonymous and "private-thing" not in anonymous
    assert "Members" not in anonymous
    assert "private-thing" not in bob_client.get("/acme").content.decode()
    membership_add(org=org, user=bob, role="read", actor=alice)
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
