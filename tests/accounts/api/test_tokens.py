"""Access tokens through the API, in-process: the secret shown once, immediate revocation, expiry,
fine-grained scopes."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AccessToken, AuditEvent
from tests.accounts.api.helpers import ORG, call
from tests.factories import TokenFactory

pytestmark = pytest.mark.django_db


def test_tokens_api_shows_the_secret_once_and_revocation_is_immediate(client, people):
    users, keys = people
    r = call(client, "POST", "/api/tokens", keys["ann"], {"name": "ci", "role": "read"})
    assert r.status_code == 201
    created = r.json()
    secret = created["token"]
    assert secret.startswith("hf_") and created["role"] == "read"
    listed = call(client, "GET", "/api/tokens", keys["ann"]).json()
    assert secret not in json.dumps(listed) and {t["displayName"] for t in listed} == {"w", "ci"}
    assert call(client, "GET", "/api/whoami-v2", secret).json()["auth"]["accessToken"]["role"] == "read"
    # A read token cannot mint tokens; nobody else can revoke ann's.
    assert call(client, "POST", "/api/tokens", secret, {"name": "x", "role": "write"}).status_code == 403
    assert call(client, "DELETE", f"/api/tokens/{created['id']}", keys["ben"]).status_code == 404
    assert call(client, "DELETE", f"/api/tokens/{created['id']}", keys["ann"]).status_code == 200
    r = call(client, "GET", "/api/whoami-v2", secret)
    assert r.status_code == 401 and r["X-Error-Message"] == "Invalid credentials in Authorization header"
    assert list(AuditEvent.objects.filter(target=f"token:{created['id']}").values_list("action", flat=True)
                .order_by("created_at")) == ["token.create", "token.revoke"]


def test_expired_token_is_refused(client, people):
    users, _keys = people
    token = TokenFactory(user=users["ann"], name="soon", expires_at=timezone.now() + timedelta(hours=1))
    key = token.secret
    assert call(client, "GET", "/api/whoami-v2", key).status_code == 200
    AccessToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert call(client, "GET", "/api/whoami-v2", key).status_code == 401


def test_fine_grained_token_scopes(client, people):
    users, keys = people
    call(client, "POST", "/api/organizations", keys["ann"], {"name": ORG})
    for name, org in [("a", None), ("b", None), ("o", ORG)]:
        call(client, "POST", "/api/repos/create", keys["ann"], {"name": name, "organization": org, "private": True})
    r = call(client, "POST", "/api/tokens", keys["ann"], {"name": "fg", "role": "fineGrained", "scopes": [
        {"type": "model", "name": "ann/a", "access": "write"},
        {"type": "org", "name": ORG, "access": "read"}]})
    assert r.status_code == 201, r.content
    fg = r.json()["token"]
    who = call(client, "GET", "/api/whoami-v2", fg).json()
    scoped = who["auth"]["accessToken"]["fineGrained"]["scoped"]
    assert who["auth"]["accessToken"]["role"] == "fineGrained"
    assert [(s["entity"]["type"], s["entity"]["name"], s["permissions"]) for s in scoped] == [
        ("model", "ann/a", ["repo.content.read", "repo.write"]), ("org", ORG, ["repo.content.read"])]
    assert call(client, "POST", "/api/models/ann/a/branch/x", fg, {}).status_code == 200
    assert call(client, "GET", "/api/models/acme/o", fg).status_code == 200
    assert call(client, "POST", "/api/models/acme/o/branch/x", fg, {}).status_code == 403
    # Out of scope: exactly like anonymous, listings included.
    assert call(client, "GET", "/api/models/ann/b", fg).content == call(client, "GET", "/api/models/ann/zz", fg).content
    listed = {m["id"] for m in call(client, "GET", "/api/models?author=ann", fg).json()}
    assert listed == {"ann/a"}
    assert call(client, "POST", "/api/repos/create", fg, {"name": "new"}).status_code == 403
    # Scopes can only name what the user can see.
    r = call(client, "POST", "/api/tokens", keys["ben"], {"name": "fg", "role": "fineGrained", "scopes": [
        {"type": "model", "name": "ann/a", "access": "read"}]})
    assert r.status_code == 404
