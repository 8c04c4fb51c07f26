"""Collaborators and gated access through the HF routes, in-process."""
from __future__ import annotations

import pytest

from accounts.models import AuditEvent
from repos.models import AccessRequest, Repository
from tests.accounts.api.helpers import call
from tests.factories import auth, commit

pytestmark = pytest.mark.django_db


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


def test_gated_manual_flow_through_the_hf_routes(client, people):
    users, keys = people
    call(client, "POST", "/api/repos/create", keys["ann"], {"name": "g"})
    repo = Repository.objects.get(namespace="ann", name="g")
    commit(repo, files={"config.json": b"{}\n"})
    assert call(client, "PUT", "/api/models/ann/g/settings", keys["ann"], {"gated": "manual"}).json()["gated"] == \
        "manual"
    # Metadata stays readable, bytes do not: 401 anonymous, 403 not approved; owners download.
    assert call(client, "GET", "/api/models/ann/g", keys["ben"]).status_code == 200
    anon = client.get("/ann/g/resolve/main/config.json")
    assert (anon.status_code, anon["X-Error-Code"]) == (401, "GatedRepo")
    r = client.get("/ann/g/resolve/main/config.json", **auth(keys["ben"]))
    assert (r.status_code, r["X-Error-Code"]) == (403, "GatedRepo")
    assert client.get("/ann/g/resolve/main/config.json", **auth(keys["ann"])).status_code == 200

    assert call(client, "POST", "/api/models/ann/g/ask-access", keys["ben"],
                {"fields": {"company": "ACME"}}).json() == {"status": "pending"}
    pending = call(client, "GET", "/api/models/ann/g/user-access-request/pending", keys["ann"]).json()
    assert [(p["user"]["user"], p["status"], p["fields"]) for p in pending] == [("ben", "pending", {"company": "ACME"})]
    assert call(client, "GET", "/api/models/ann/g/user-access-request/pending", keys["ben"]).status_code == 403
    assert client.get("/ann/g/resolve/main/config.json", **auth(keys["ben"])).status_code == 403
    assert call(client, "POST", "/api/models/ann/g/user-access-request/handle", keys["ann"],
                {"user": "ben", "status": "accepted"}).status_code == 200
    assert client.get("/ann/g/resolve/main/config.json", **auth(keys["ben"])).status_code == 200
    r = call(client, "POST", "/api/models/ann/g/user-access-request/handle", keys["ann"],
             {"requestId": pending[0]["requestId"], "status": "rejected", "rejectionReason": "no"})
    assert r.json()["status"] == "rejected"
    assert client.get("/ann/g/resolve/main/config.json", **auth(keys["ben"])).status_code == 403
    # grant_access: cat never asked.
    assert call(client, "POST", "/api/models/ann/g/user-access-request/grant", keys["ann"],
                {"user": "cat"}).status_code == 200
    assert client.get("/ann/g/resolve/main/config.json", **auth(keys["cat"])).status_code == 200
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
    commit(repo, files={"config.json": b"{}\n"})
    call(client, "PUT", "/api/models/ann/g/settings", keys["ann"], {"gated": "auto"})
    assert client.get("/ann/g/resolve/main/config.json", **auth(keys["ben"])).status_code == 403
    assert call(client, "POST", "/api/models/ann/g/ask-access", keys["ben"], {}).json() == {"status": "accepted"}
    assert client.get("/ann/g/resolve/main/config.json", **auth(keys["ben"])).status_code == 200
    assert AccessRequest.objects.get(repository=repo, user=users["ben"]).status == "accepted"
    assert call(client, "POST", "/api/models/ann/g/ask-access", None, {}).status_code == 401
