"""Every audited action leaves exactly one event (actor, action, target, time, origin IP), and
no event or log line ever holds a token or a password."""
from __future__ import annotations

import json
import logging

import pytest
from django.test import Client

from accounts.models import AuditEvent
from tests.factories import TokenFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "Sup3r-Secret-Passw0rd!"
WRONG_PASSWORD = "Wr0ng-Secret-Passw0rd!"


def api(client: Client, method: str, path: str, key: str, body: object = None) -> object:
    response = client.generic(method, path, json.dumps(body) if body is not None else "",
                              content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code < 300, (method, path, response.content)
    return response


def test_each_audited_action_makes_exactly_one_event_without_secrets(client, caplog):
    caplog.set_level(logging.DEBUG)
    ann = UserFactory(username="ann", password=PASSWORD)
    UserFactory(username="ben", password=PASSWORD)
    key = TokenFactory(user=ann, name="root").secret
    secrets = [PASSWORD, WRONG_PASSWORD, key]
    client = Client(REMOTE_ADDR="203.0.113.7")
    steps = [
        ("auth.login_failed", lambda: client.post("/login", {"username": "ann", "password": WRONG_PASSWORD})),
        ("auth.login", lambda: client.post("/login", {"username": "ann", "password": PASSWORD})),
        ("token.create", lambda: secrets.append(api(client, "POST", "/api/tokens", key,
                                                    {"name": "t", "role": "read"}).json()["token"])),
        ("token.revoke", lambda: api(client, "DELETE", f"/api/tokens/{ann.tokens.get(name='t').pk}", key)),
        ("org.create", lambda: api(client, "POST", "/api/organizations", key, {"name": "acme"})),
        ("org.member.add", lambda: api(client, "POST", "/api/organizations/acme/members", key,
                                       {"user": "ben", "role": "read"})),
        ("org.change_role", lambda: api(client, "PUT", "/api/organizations/acme/members/ben", key, {"role": "write"})),
        ("org.member.remove", lambda: api(client, "DELETE", "/api/organizations/acme/members/ben", key)),
        ("repo.create", lambda: api(client, "POST", "/api/repos/create", key, {"name": "m", "organization": "acme"})),
        ("repo.visibility", lambda: api(client, "PUT", "/api/models/acme/m/settings", key, {"private": True})),
        ("repo.gated", lambda: api(client, "PUT", "/api/models/acme/m/settings", key, {"gated": "manual"})),
        ("repo.collaborator.set", lambda: api(client, "POST", "/api/models/acme/m/collaborators", key,
                                              {"user": "ben", "role": "read"})),
        ("repo.access_request.grant", lambda: api(client, "POST", "/api/models/acme/m/user-access-request/grant",
                                                  key, {"user": "ben"})),
        ("repo.access_request.decide", lambda: api(client, "POST", "/api/models/acme/m/user-access-request/handle",
                                                   key, {"user": "ben", "status": "rejected"})),
        ("repo.collaborator.remove", lambda: api(client, "DELETE", "/api/models/acme/m/collaborators/ben", key)),
        ("repo.move", lambda: api(client, "POST", "/api/repos/move", key, {"fromRepo": "acme/m", "toRepo": "acme/n"})),
        ("repo.delete", lambda: api(client, "DELETE", "/api/repos/delete", key, {"name": "n", "organization": "acme"})),
    ]
    for action, step in steps:
        before = AuditEvent.objects.count()
        step()
        new = list(AuditEvent.objects.order_by("pk")[before:])
        assert [e.action for e in new] == [action], (action, [e.action for e in new])
        event = new[0]
        assert event.ip == "203.0.113.7" and event.created_at is not None and event.target, action
        if action != "auth.login_failed":
            assert event.actor is not None and event.actor.username == "ann", action
    rows = json.dumps(list(AuditEvent.objects.values()), default=str)
    logs = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records) + caplog.text
    for secret in secrets:
        assert secret not in rows
        assert secret not in logs


def test_secret_looking_keys_never_reach_the_audit_log():
    from accounts.services.audit import audit

    event = audit(action="x", target="t", password="p", token="hf_x", api_key="k", user="ann")
    assert event.data == {"user": "ann"}
