"""The token pages: a token shown once then revoked, fine-grained scopes (a repository, an
organization), refusals."""
from __future__ import annotations

import re

import pytest
from django.test import Client

from accounts.models import AccessToken
from tests.factories import OrganizationFactory, TokenFactory

pytestmark = pytest.mark.django_db

SECRET = re.compile(r"<pre data-token-secret>(hf_[\w\-]+)</pre>")


def _whoami(key: str) -> int:
    return Client().get("/api/whoami-v2", HTTP_AUTHORIZATION=f"Bearer {key}").status_code


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
    org = OrganizationFactory(name="acme", admin=alice)
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
    OrganizationFactory(name="other", admin=bob)
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
    token = TokenFactory(user=bob, name="bobs", role="read")
    key = token.secret
    assert alice_client.post(f"/settings/tokens/{token.pk}/revoke").status_code == 404
    assert _whoami(key) == 200


def test_token_pages_refuse_token_callers_with_a_read_token(alice):
    key = TokenFactory(user=alice, name="ro", role="read").secret
    r = Client().get("/settings/tokens", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert r.status_code == 403
