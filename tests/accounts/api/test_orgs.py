"""Organizations and their members through the API, in-process: the shared namespace, admin-only
member management, roles applied on the next request."""
from __future__ import annotations

import json

import pytest

from accounts.models import AuditEvent, Membership
from accounts.services.users import user_create
from tests.accounts.api.helpers import ORG, call
from tests.factories import auth

pytestmark = pytest.mark.django_db


def test_org_create_shares_the_user_namespace_and_makes_the_creator_admin(client, people):
    users, keys = people
    assert call(client, "POST", "/api/organizations", keys["ann"], {"name": "ben"}).status_code == 409
    r = call(client, "POST", "/api/organizations", keys["ann"], {"name": ORG, "fullname": "Acme"})
    assert r.status_code == 200 and r.json()["name"] == ORG
    assert call(client, "POST", "/api/organizations", keys["ben"], {"name": "ACME"}).status_code == 409
    with pytest.raises(Exception):  # noqa: B017 - the user side of the shared namespace
        user_create(username=ORG, password="Correct-Horse-Battery-9")
    assert Membership.objects.get(organization__name=ORG, user=users["ann"]).role == "admin"
    assert call(client, "POST", "/api/organizations", None, {"name": "x1"}).status_code == 401


def test_members_are_managed_by_admins_and_changes_apply_on_the_next_request(client, people):
    users, keys = people
    call(client, "POST", "/api/organizations", keys["ann"], {"name": ORG})
    repo_id = "acme/secret"
    assert call(client, "POST", "/api/repos/create", keys["ann"],
                {"name": "secret", "organization": ORG, "private": True}).status_code == 200
    assert call(client, "GET", f"/api/models/{repo_id}", keys["ben"]).status_code == 404

    r = call(client, "POST", f"/api/organizations/{ORG}/members", keys["ann"], {"user": "ben", "role": "read"})
    assert r.status_code == 200 and {"user": "ben", "fullname": "ben", "role": "read"} in r.json()
    assert call(client, "GET", f"/api/models/{repo_id}", keys["ben"]).status_code == 200
    assert call(client, "PUT", f"/api/models/{repo_id}/settings", keys["ben"], {"private": True}).status_code == 403
    # A reader cannot manage members; the admin promotes them and it applies at once.
    assert call(client, "POST", f"/api/organizations/{ORG}/members", keys["ben"],
                {"user": "cat", "role": "admin"}).status_code == 403
    assert call(client, "PUT", f"/api/organizations/{ORG}/members/ben", keys["ann"],
                {"role": "write"}).status_code == 200
    r = call(client, "POST", f"/api/models/{repo_id}/branch/dev", keys["ben"], {})
    assert r.status_code == 200, r.content
    # The last admin can be neither demoted nor removed.
    assert call(client, "PUT", f"/api/organizations/{ORG}/members/ann", keys["ann"],
                {"role": "read"}).status_code == 400
    assert call(client, "DELETE", f"/api/organizations/{ORG}/members/ann", keys["ann"]).status_code == 400
    assert call(client, "DELETE", f"/api/organizations/{ORG}/members/ben", keys["ann"]).status_code == 200
    assert call(client, "GET", f"/api/models/{repo_id}", keys["ben"]).status_code == 404
    actions = list(AuditEvent.objects.filter(target=f"org:{ORG}").values_list("action", flat=True))
    assert sorted(actions) == ["org.change_role", "org.create", "org.member.add", "org.member.remove"]


def test_contributor_opens_pull_requests_but_cannot_write_branches(client, people):
    users, keys = people
    call(client, "POST", "/api/organizations", keys["ann"], {"name": ORG})
    call(client, "POST", "/api/repos/create", keys["ann"], {"name": "m", "organization": ORG, "private": True})
    call(client, "POST", f"/api/organizations/{ORG}/members", keys["ann"], {"user": "ben", "role": "contributor"})
    call(client, "POST", f"/api/organizations/{ORG}/members", keys["ann"], {"user": "cat", "role": "read"})
    header = json.dumps({"key": "header", "value": {"summary": "s", "description": ""}})
    op = json.dumps({"key": "file", "value": {"path": "a.txt", "content": "aGk=", "encoding": "base64"}})
    body = f"{header}\n{op}\n"
    for key, path, status in [(keys["ben"], "/api/models/acme/m/commit/main", 403),
                              (keys["ben"], "/api/models/acme/m/commit/main?create_pr=1", 200),
                              (keys["cat"], "/api/models/acme/m/commit/main?create_pr=1", 403)]:
        r = client.post(path, body, content_type="application/x-ndjson", **auth(key))
        assert r.status_code == status, (path, r.content)
