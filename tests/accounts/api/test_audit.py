"""Audit log exports through the API, in-process: for repository and organization admins only."""
from __future__ import annotations

import pytest

from accounts.models import Organization
from tests.accounts.api.helpers import ORG, call

pytestmark = pytest.mark.django_db


def test_audit_exports_are_for_admins(client, people):
    users, keys = people
    call(client, "POST", "/api/organizations", keys["ann"], {"name": ORG})
    call(client, "POST", "/api/repos/create", keys["ann"], {"name": "m", "organization": ORG})
    call(client, "PUT", "/api/models/acme/m/settings", keys["ann"], {"private": True})
    r = call(client, "GET", "/api/models/acme/m/audit", keys["ann"])
    assert r.status_code == 200 and "attachment" in r["Content-Disposition"]
    events = r.json()
    assert [e["action"] for e in events] == ["repo.visibility", "repo.create"]
    assert events[0]["actor"] == "ann" and events[0]["ip"] == "127.0.0.1" and events[0]["createdAt"]
    org_events = call(client, "GET", f"/api/organizations/{ORG}/audit", keys["ann"]).json()
    assert {"org.create", "repo.create", "repo.visibility", "repo.audit_log.export"} <= {
        e["action"] for e in org_events}
    assert call(client, "GET", f"/api/organizations/{ORG}/audit", keys["ben"]).status_code == 403
    assert call(client, "GET", "/api/models/acme/m/audit", keys["ben"]).status_code == 404
    assert Organization.objects.count() == 1
