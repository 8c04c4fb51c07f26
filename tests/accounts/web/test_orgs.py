"""The organization pages: creating one, inviting, changing and removing members, who may."""
from __future__ import annotations

import pytest

from accounts.models import Membership, Organization
from tests.factories import MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


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
    org = OrganizationFactory(name="acme", admin=alice)
    assert bob_client.get("/acme/settings/members").status_code == 403
    MembershipFactory(org=org, user=bob, role="write", actor=alice)
    assert bob_client.get("/acme/settings/members").status_code == 403
    assert bob_client.post("/acme/settings/members/alice/remove").status_code == 403
    assert Membership.objects.filter(organization=org, user=alice).exists()
    assert bob_client.get("/nope/settings/members").status_code == 404
