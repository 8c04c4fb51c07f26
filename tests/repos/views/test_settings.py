"""The repository settings page: who may see it, visibility, gating, collaborators, the
access-request queue, the audit log and deletion."""
from __future__ import annotations

import re

import pytest
from django.test import Client

from accounts.object_permissions import object_role
from repos.models import AccessRequest, Repository
from repos.services.access import access_request_create
from tests.factories import CollaboratorFactory, MembershipFactory, OrganizationFactory, commit

pytestmark = pytest.mark.django_db
CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')


def test_only_admins_see_settings_others_get_403_or_404(alice, bob, bob_client, alice_client, make_repo):
    public = make_repo("pub")
    private = make_repo("priv", private=True)
    assert alice_client.get("/alice/pub/settings").status_code == 200
    assert "Settings" in alice_client.get("/alice/pub").content.decode()  # the tab
    assert 'href="/alice/pub/settings"' not in bob_client.get("/alice/pub").content.decode()
    assert bob_client.get("/alice/pub/settings").status_code == 403
    assert bob_client.get("/alice/priv/settings").status_code == 404
    assert bob_client.get("/alice/missing/settings").status_code == 404
    assert bob_client.post("/alice/priv/settings/visibility", {"visibility": "public"}).status_code == 404
    assert bob_client.post("/alice/pub/settings/delete", {"confirm": "alice/pub"}).status_code == 403
    anonymous = Client().get("/alice/pub/settings")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login")
    CollaboratorFactory(repo=public, user=bob, role="write", actor=alice)
    assert bob_client.get("/alice/pub/settings").status_code == 403
    CollaboratorFactory(repo=private, user=bob, role="admin", actor=alice)
    assert bob_client.get("/alice/priv/settings").status_code == 200


def test_hidden_settings_page_is_the_missing_one(bob_client, make_repo):
    make_repo("hidden", private=True)
    hidden = bob_client.get("/alice/hidden/settings")
    missing = bob_client.get("/alice/absent/settings")
    assert hidden.status_code == missing.status_code == 404
    # The only difference allowed: the per-response CSRF token of the log-out form.
    assert CSRF.sub(b"", hidden.content) == CSRF.sub(b"", missing.content)


def test_org_admins_manage_org_repos(alice, bob, bob_client, make_repo):
    org = OrganizationFactory(name="acme", admin=alice)
    make_repo("thing", namespace="acme", private=True)
    MembershipFactory(org=org, user=bob, role="write", actor=alice)
    assert bob_client.get("/acme/thing/settings").status_code == 403
    from accounts.services.orgs import membership_update

    membership_update(org=org, user=bob, role="admin", actor=alice)
    assert bob_client.get("/acme/thing/settings").status_code == 200


def test_make_private_then_public(alice, alice_client, make_repo):
    repo = make_repo("vis")
    r = alice_client.post("/alice/vis/settings/visibility", {"visibility": "private"})
    assert r.status_code == 302 and r["Location"] == "/alice/vis/settings"
    repo.refresh_from_db()
    assert repo.private
    assert Client().get("/alice/vis").status_code == 404
    assert Client().get("/api/models/alice/vis").status_code == 404
    assert "vis" not in Client().get("/alice").content.decode().split("</header>")[1]
    page = alice_client.get("/alice/vis/settings").content.decode()
    assert "is now private" in page and "repo.visibility" in page  # message and audit row
    alice_client.post("/alice/vis/settings/visibility", {"visibility": "public"})
    repo.refresh_from_db()
    assert not repo.private
    # Bad input is a message, not an error.
    r = alice_client.post("/alice/vis/settings/visibility", {"visibility": "secret"}, follow=True)
    assert r.status_code == 200 and "Choose public or private" in r.content.decode()


def test_gating_and_the_access_request_queue(alice, bob, alice_client, bob_client, make_repo):
    repo = make_repo("gated")
    commit(repo, files={"weights.bin": b"secret bytes"})
    alice_client.post("/alice/gated/settings/gating", {"gated": "manual"})
    repo.refresh_from_db()
    assert repo.gated == Repository.Gated.MANUAL
    assert bob_client.get("/alice/gated/resolve/main/weights.bin").status_code == 403

    access_request_create(repo=repo, user=bob, fields={"reason": "<script>research</script>"})
    page = alice_client.get("/alice/gated/settings").content.decode()
    assert 'data-access-request="bob"' in page and "Accept" in page
    assert "&lt;script&gt;research&lt;/script&gt;" in page and "<script>research" not in page
    r = alice_client.post("/alice/gated/settings/access-requests/bob", {"status": "accepted"})
    assert r.status_code == 302
    assert AccessRequest.objects.get(repository=repo, user=bob).status == "accepted"
    download = bob_client.get("/alice/gated/resolve/main/weights.bin")
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"secret bytes"

    alice_client.post("/alice/gated/settings/access-requests/bob", {"status": "rejected"})
    assert bob_client.get("/alice/gated/resolve/main/weights.bin").status_code == 403
    r = alice_client.post("/alice/gated/settings/access-requests/nobody", {"status": "accepted"}, follow=True)
    assert "not found" in r.content.decode()
    r = alice_client.post("/alice/gated/settings/gating", {"gated": "sometimes"}, follow=True)
    assert "Invalid gated value" in r.content.decode()


def test_collaborators_add_change_remove(alice, bob, alice_client, bob_client, make_repo):
    repo = make_repo("collab", private=True)
    assert bob_client.get("/alice/collab").status_code == 404
    alice_client.post("/alice/collab/settings/collaborators", {"username": "bob", "role": "read"})
    assert object_role(user=bob, obj=repo) == "read"
    assert bob_client.get("/alice/collab").status_code == 200
    assert 'data-collaborator="bob"' in alice_client.get("/alice/collab/settings").content.decode()
    alice_client.post("/alice/collab/settings/collaborators/bob/role", {"role": "write"})
    assert object_role(user=bob, obj=repo) == "write"
    r = alice_client.post("/alice/collab/settings/collaborators/bob/role", {"role": "owner"}, follow=True)
    assert "Invalid role" in r.content.decode() and object_role(user=bob, obj=repo) == "write"
    alice_client.post("/alice/collab/settings/collaborators/bob/remove")
    assert object_role(user=bob, obj=repo) is None
    assert bob_client.get("/alice/collab").status_code == 404
    r = alice_client.post("/alice/collab/settings/collaborators", {"username": "ghost", "role": "read"}, follow=True)
    assert "not found" in r.content.decode()


def test_audit_log_table_and_json_export(alice, alice_client, bob_client, make_repo):
    make_repo("audited")
    alice_client.post("/alice/audited/settings/visibility", {"visibility": "private"})
    page = alice_client.get("/alice/audited/settings").content.decode()
    assert 'href="/api/models/alice/audited/audit"' in page
    export = alice_client.get("/api/models/alice/audited/audit")
    assert export.status_code == 200
    assert "repo.visibility" in [e["action"] for e in export.json()]
    assert bob_client.get("/api/models/alice/audited/audit").status_code == 404


def test_delete_needs_the_exact_name(alice, alice_client, make_repo):
    make_repo("doomed")
    r = alice_client.post("/alice/doomed/settings/delete", {"confirm": "doomed"}, follow=True)
    assert "to confirm the deletion" in r.content.decode()
    assert Repository.objects.filter(name="doomed").exists()
    r = alice_client.post("/alice/doomed/settings/delete", {"confirm": "alice/doomed"})
    assert r.status_code == 302 and r["Location"] == "/alice"
    assert not Repository.objects.filter(name="doomed").exists()
    assert alice_client.get("/alice/doomed").status_code == 404


def test_settings_forms_need_csrf(alice, make_repo):
    make_repo("csrf")
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post("/alice/csrf/settings/visibility", {"visibility": "private"}).status_code == 403
    assert not Repository.objects.get(name="csrf").private
    page = client.get("/alice/csrf/settings")
    assert page.content.decode().count('name="csrfmiddlewaretoken"') >= 5
    assert "script-src 'self'" in page["Content-Security-Policy"]


def test_dataset_settings_use_the_prefix(alice, alice_client, make_repo):
    make_repo("data", repo_type="dataset")
    page = alice_client.get("/datasets/alice/data/settings")
    assert page.status_code == 200
    assert 'action="/datasets/alice/data/settings/visibility"' in page.content.decode()
    alice_client.post("/datasets/alice/data/settings/visibility", {"visibility": "private"})
    assert Repository.objects.get(name="data").private
