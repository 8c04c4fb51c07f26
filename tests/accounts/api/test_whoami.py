"""whoami-v2: the user, their organizations and the token in use."""
from __future__ import annotations

import pytest

from tests.factories import OrganizationFactory, bearer

pytestmark = pytest.mark.django_db


def test_whoami_with_token(client, alice):
    OrganizationFactory(name="acme", fullname="ACME", admin=alice)
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
