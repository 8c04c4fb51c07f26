"""Organizations, members, collaborators, tokens and gated access through the API, in-process."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import AccessToken, AuditEvent, Membership, Organization
from accounts.services.tokens import token_create
from accounts.services.users import user_create
from repos.models import AccessRequest, Repository
from tests.repos.gate.world import ORG, PASSWORD, commit_files

pytestmark = pytest.mark.django_db


def bearer(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def call(client: Client, method: str, path: str, key: str | None = None, body: object = None) -> object:
    kwargs = bearer(key) if key else {}
    data = json.dumps(body) if body is not None else ""
    return client.generic(method, path, data, content_type="application/json", **kwargs)


@pytest.fixture
def people(db):
    users = {name: user_create(username=name, password=PASSWORD) for name in ("ann", "ben", "cat")}
    keys = {name: token_create(user=u, name="w", role="write")[1] for name, u in users.items()}
    return users, keys


def test_org_create_shares_the_user_namespace_and_makes_the_creator_admin(client, people):
    users, keys = people
    assert call(client, "POST", "/api/organizations", keys["ann"], {"name": "ben"}).status_code == 409
    r = call(client, "POST", "/api/organizations", keys["ann"], {"name": ORG, "fullname": "Acme"})
    assert r.status_code == 200 and r.json()["name"] == ORG
    assert call(client, "POST", "/api/organizations", keys["ben"], {"name": "ACME"}).status_code == 409
    with pytest.raises(Exception):  # noqa: B017 - the user side of the shared namespace
        user_create(username=ORG, password=PASSWORD)
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
        r = client.post(path, body, content_type="application/x-ndjson", **bearer(key))
        assert r.status_code == status, (path, r.content)


def test_collaborators_through_the_api(client, people):
    users, keys = people
    call(client, "POST", "/api/repos/create", keys["ann"], {"name": "m", "private": True})
    assert call(client, "GET", "/api/models/ann/m/collaborators", keys["ben"]).status_code == 404
    r = call(client, "POST", "/api/models/ann/m/collaborators", keys["ann"], {"user": "ben", "role": "write"})
    assert r.json() == [{"user": "ben", "fullname": "ben", "role": "write"}]
    assert call(client, "POST", "/api/models/ann/m/branch/dev", keys["ben"], {}).status_code == 200
    assert call(client, "GET", "/api/models/ann/m/collaborators", keys["ben"]).status_code == 403
    r = call(client, "PUT", "/api/models/ann/m/collaborators/ben", keys["ann"], {"role": "read"})
    assert r.json() == [{"user": "ben", "fullname": "ben", "role": "read"}]
    assert call(client, "POST", "/api/models/ann/m/branch/dev2", keys["ben"], {}).status_code == 403
    assert call(client, "DELETE", "/api/models/ann/m/collaborators/ben", keys["ann"]).status_code == 200
    assert call(client, "GET", "/api/models/ann/m", keys["ben"]).status_code == 404
    assert call(client, "DELETE", "/api/models/ann/m/collaborators/ben", keys["ann"]).status_code == 404
    assert call(client, "POST", "/api/models/ann/m/collaborators", keys["ann"],
                {"user": "ghost", "role": "read"}).status_code == 404
    actions = sorted(AuditEvent.objects.filter(action__startswith="repo.collaborator").values_list("action", flat=True))
    assert actions == ["repo.collaborator.remove", "repo.collaborator.set", "repo.collaborator.set"]


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
    token, key = token_create(user=users["ann"], name="soon", role="write",
                              expires_at=timezone.now() + timedelta(hours=1))
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


def test_gated_manual_flow_through_the_hf_routes(client, people):
    users, keys = people
    call(client, "POST", "/api/repos/create", keys["ann"], {"name": "g"})
    repo = Repository.objects.get(namespace="ann", name="g")
    commit_files(repo, {"config.json": b"{}\n"})
    assert call(client, "PUT", "/api/models/ann/g/settings", keys["ann"], {"gated": "manual"}).json()["gated"] == \
        "manual"
    # Metadata stays readable, bytes do not: 401 anonymous, 403 not approved; owners download.
    assert call(client, "GET", "/api/models/ann/g", keys["ben"]).status_code == 200
    anon = client.get("/ann/g/resolve/main/config.json")
    assert (anon.status_code, anon["X-Error-Code"]) == (401, "GatedRepo")
    r = client.get("/ann/g/resolve/main/config.json", **bearer(keys["ben"]))
    assert (r.status_code, r["X-Error-Code"]) == (403, "GatedRepo")
    assert client.get("/ann/g/resolve/main/config.json", **bearer(keys["ann"])).status_code == 200

    assert call(client, "POST", "/api/models/ann/g/ask-access", keys["ben"],
                {"fields": {"company": "ACME"}}).json() == {"status": "pending"}
    pending = call(client, "GET", "/api/models/ann/g/user-access-request/pending", keys["ann"]).json()
    assert [(p["user"]["user"], p["status"], p["fields"]) for p in pending] == [("ben", "pending", {"company": "ACME"})]
    assert call(client, "GET", "/api/models/ann/g/user-access-request/pending", keys["ben"]).status_code == 403
    assert client.get("/ann/g/resolve/main/config.json", **bearer(keys["ben"])).status_code == 403
    assert call(client, "POST", "/api/models/ann/g/user-access-request/handle", keys["ann"],
                {"user": "ben", "status": "accepted"}).status_code == 200
    assert client.get("/ann/g/resolve/main/config.json", **bearer(keys["ben"])).status_code == 200
    r = call(client, "POST", "/api/models/ann/g/user-access-request/handle", keys["ann"],
             {"requestId": pending[0]["requestId"], "status": "rejected", "rejectionReason": "no"})
    assert r.json()["status"] == "rejected"
    assert client.get("/ann/g/resolve/main/config.json", **bearer(keys["ben"])).status_code == 403
    # grant_access: cat never asked.
    assert call(client, "POST", "/api/models/ann/g/user-access-request/grant", keys["ann"],
                {"user": "cat"}).status_code == 200
    assert client.get("/ann/g/resolve/main/config.json", **bearer(keys["cat"])).status_code == 200
    assert call(client, "POST", "/api/models/ann/g/user-access-request/grant", keys["ann"],
                {"user": "cat"}).status_code == 400
    accepted = call(client, "GET", "/api/models/ann/g/user-access-request/accepted", keys["ann"]).json()
    assert [a["user"]["user"] for a in accepted] == ["cat"]
    decisions = list(AuditEvent.objects.filter(target="model:ann/g", action__startswith="repo.access_request")
                     .values_list("action", "data__status"))
    assert sorted(decisions, key=str) == sorted([
        ("repo.access_request", "pending"), ("repo.access_request.decide", "accepted"),
        ("repo.access_request.decide", "rejected"), ("repo.access_request.grant", None)], key=str)


def test_gated_auto_accepts_at_once(client, people):
    users, keys = people
    call(client, "POST", "/api/repos/create", keys["ann"], {"name": "g"})
    repo = Repository.objects.get(namespace="ann", name="g")
    commit_files(repo, {"config.json": b"{}\n"})
    call(client, "PUT", "/api/models/ann/g/settings", keys["ann"], {"gated": "auto"})
    assert client.get("/ann/g/resolve/main/config.json", **bearer(keys["ben"])).status_code == 403
    assert call(client, "POST", "/api/models/ann/g/ask-access", keys["ben"], {}).json() == {"status": "accepted"}
    assert client.get("/ann/g/resolve/main/config.json", **bearer(keys["ben"])).status_code == 200
    assert AccessRequest.objects.get(repository=repo, user=users["ben"]).status == "accepted"
    assert call(client, "POST", "/api/models/ann/g/ask-access", None, {}).status_code == 401


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
