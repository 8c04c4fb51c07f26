"""/api/repos/create|delete|move and PUT /api/{T}/{id}/settings through the Django test client."""
from __future__ import annotations

import json

import pytest
from django.conf import settings

from accounts.models import AuditEvent, Membership
from accounts.services.orgs import membership_update
from repos.handles import git_repo
from repos.models import RepoRedirect, Repository
from tests.factories import MembershipFactory, OrganizationFactory, RepositoryFactory, UserFactory, auth

pytestmark = pytest.mark.django_db


def post(client, url, body, token=None, method="post"):
    return getattr(client, method)(url, data=json.dumps(body), content_type="application/json", **auth(token))


# ---------------------------------------------------------------------- create


def test_create_model_repo(client, tokens):
    r = post(client, "/api/repos/create", {"name": "tiny", "organization": None}, tokens["alice"])
    assert r.status_code == 200, r.content
    assert r.json()["url"] == f"{settings.PUBLIC_URL}/alice/tiny"
    assert r.json()["name"] == "alice/tiny"
    created = Repository.objects.get(namespace="alice", name="tiny", repo_type="model")
    assert not created.private
    git = git_repo(created)
    [initial] = git.log(git.resolve("main"))
    assert initial.title == "initial commit"
    assert git.get_entry(initial.sha, ".gitattributes") is not None
    assert AuditEvent.objects.filter(action="repo.create", target=str(created)).exists()


@pytest.mark.parametrize("body,private", [({"visibility": "private"}, True), ({"visibility": "public"}, False),
                                          ({"private": True}, True), ({"private": False}, False), ({}, False)])
def test_create_dataset_visibility(client, tokens, body, private):
    r = post(client, "/api/repos/create", {"name": "ds", "type": "dataset", **body}, tokens["alice"])
    assert r.status_code == 200, r.content
    assert r.json()["url"] == f"{settings.PUBLIC_URL}/datasets/alice/ds"
    assert Repository.objects.get(name="ds", repo_type="dataset").private is private


def test_create_existing_is_409_with_url(client, tokens):
    post(client, "/api/repos/create", {"name": "dup"}, tokens["alice"])
    r = post(client, "/api/repos/create", {"name": "dup"}, tokens["alice"])
    assert r.status_code == 409
    assert r.json()["url"] == f"{settings.PUBLIC_URL}/alice/dup"
    assert r["X-Error-Message"]


def test_create_requires_authentication(client):
    r = post(client, "/api/repos/create", {"name": "anon"})
    assert r.status_code == 401
    assert not Repository.objects.filter(name="anon").exists()


def test_create_with_read_token_is_403(client, tokens):
    r = post(client, "/api/repos/create", {"name": "ro"}, tokens["alice_read"])
    assert r.status_code == 403
    assert not Repository.objects.filter(name="ro").exists()


def test_create_in_foreign_namespace_is_403(client, tokens):
    r = post(client, "/api/repos/create", {"name": "x", "organization": "bob"}, tokens["alice"])
    assert r.status_code == 403


def test_create_in_organization_needs_write_role(client, tokens, alice):
    admin = UserFactory(username="acme-admin")
    org = OrganizationFactory(name="acme", admin=admin)
    MembershipFactory(org=org, user=alice, role=Membership.Role.READ)
    assert post(client, "/api/repos/create", {"name": "m", "organization": "acme"}, tokens["alice"]).status_code == 403
    membership_update(org=org, user=alice, role=Membership.Role.WRITE, actor=admin)
    r = post(client, "/api/repos/create", {"name": "m", "organization": "acme"}, tokens["alice"])
    assert r.status_code == 200 and r.json()["url"].endswith("/acme/m")
    assert Repository.objects.get(namespace="acme", name="m").organization == org


@pytest.mark.parametrize("body", [{"name": "a--b"}, {"name": "../x"}, {"name": "x.git"},
                                  {"name": "ok", "type": "kernel"}, {"name": ""}, {},
                                  {"name": "ok", "visibility": "secret"}])
def test_create_bad_input_is_400(client, tokens, body):
    r = post(client, "/api/repos/create", body, tokens["alice"])
    assert r.status_code == 400, r.content
    assert r["X-Error-Message"]


def test_create_malformed_json_is_400(client, tokens):
    r = client.post("/api/repos/create", data=b"{nope", content_type="application/json", **auth(tokens["alice"]))
    assert r.status_code == 400
    assert "error" in r.json()


# ---------------------------------------------------------------------- delete


def test_delete_repo_removes_row_then_files(client, tokens, repo, django_capture_on_commit_callbacks):
    git_dir = repo.git_dir
    assert git_dir.exists()
    with django_capture_on_commit_callbacks(execute=True):
        r = post(client, "/api/repos/delete", {"name": repo.name, "organization": "alice"}, tokens["alice"],
                 method="delete")
    assert r.status_code == 200, r.content
    assert not Repository.objects.filter(pk=repo.pk).exists()
    assert not git_dir.exists()
    assert AuditEvent.objects.filter(action="repo.delete").exists()


def test_delete_missing_repo_is_repo_not_found(client, tokens):
    r = post(client, "/api/repos/delete", {"name": "ghost", "organization": None}, tokens["alice"], method="delete")
    assert r.status_code == 404 and r["X-Error-Code"] == "RepoNotFound"


def test_delete_by_other_user(client, tokens, repo):
    r = post(client, "/api/repos/delete", {"name": repo.name, "organization": "alice"}, tokens["bob"], method="delete")
    assert r.status_code == 403
    Repository.objects.filter(pk=repo.pk).update(private=True)
    r = post(client, "/api/repos/delete", {"name": repo.name, "organization": "alice"}, tokens["bob"], method="delete")
    assert r.status_code == 404 and r["X-Error-Code"] == "RepoNotFound"
    assert Repository.objects.filter(pk=repo.pk).exists() and repo.git_dir.exists()


def test_delete_with_read_token_is_403(client, tokens, repo):
    r = post(client, "/api/repos/delete", {"name": repo.name, "organization": "alice"}, tokens["alice_read"],
             method="delete")
    assert r.status_code == 403


# ---------------------------------------------------------------------- move


def test_move_renames_and_keeps_redirect(client, tokens, repo):
    old = repo.name
    git_dir = repo.git_dir
    r = post(client, "/api/repos/move", {"fromRepo": f"alice/{old}", "toRepo": "alice/renamed", "type": "model"},
             tokens["alice"])
    assert r.status_code == 200, r.content
    repo.refresh_from_db()
    assert repo.repo_id == "alice/renamed" and repo.git_dir == git_dir and git_dir.exists()
    assert RepoRedirect.objects.get(namespace="alice", name=old).repository == repo
    assert AuditEvent.objects.filter(action="repo.move").exists()
    # Moving back over the redirect works and keeps the newest name reachable.
    r = post(client, "/api/repos/move", {"fromRepo": "alice/renamed", "toRepo": f"alice/{old}"}, tokens["alice"])
    assert r.status_code == 200
    assert not RepoRedirect.objects.filter(namespace="alice", name=old).exists()
    assert RepoRedirect.objects.get(namespace="alice", name="renamed").repository == repo


def test_move_to_organization_transfers_ownership(client, tokens, repo, alice):
    org = OrganizationFactory(name="acme", admin=alice)
    r = post(client, "/api/repos/move", {"fromRepo": repo.repo_id, "toRepo": "acme/moved"}, tokens["alice"])
    assert r.status_code == 200
    repo.refresh_from_db()
    assert repo.organization == org and repo.namespace == "acme"


def test_move_conflicts_and_rights(client, tokens, repo, alice):
    RepositoryFactory(owner=alice, name="taken")
    r = post(client, "/api/repos/move", {"fromRepo": repo.repo_id, "toRepo": "alice/taken"}, tokens["alice"])
    assert r.status_code == 409
    r = post(client, "/api/repos/move", {"fromRepo": repo.repo_id, "toRepo": "bob/stolen"}, tokens["alice"])
    assert r.status_code == 403
    r = post(client, "/api/repos/move", {"fromRepo": repo.repo_id, "toRepo": "bob/mine"}, tokens["bob"])
    assert r.status_code == 403
    r = post(client, "/api/repos/move", {"fromRepo": repo.repo_id, "toRepo": "not-an-id"}, tokens["alice"])
    assert r.status_code == 400
    r = post(client, "/api/repos/move", {"fromRepo": "alice/ghost", "toRepo": "alice/x"}, tokens["alice"])
    assert r.status_code == 404 and r["X-Error-Code"] == "RepoNotFound"
    repo.refresh_from_db()
    assert repo.name.startswith("m-")


# ---------------------------------------------------------------------- settings


def test_settings_visibility_and_gating(client, tokens, repo):
    url = f"/api/models/{repo.repo_id}/settings"
    r = post(client, url, {"visibility": "private"}, tokens["alice"], method="put")
    assert r.status_code == 200 and r.json()["private"] is True
    repo.refresh_from_db()
    assert repo.private
    assert AuditEvent.objects.filter(action="repo.visibility", data__private=True).exists()
    r = post(client, url, {"private": False, "gated": "manual"}, tokens["alice"], method="put")
    assert r.json() == {"private": False, "visibility": "public", "gated": "manual"}
    r = post(client, url, {"gated": False}, tokens["alice"], method="put")
    assert r.json()["gated"] is False
    repo.refresh_from_db()
    assert repo.gated == "" and not repo.private


def test_settings_rights_and_bad_input(client, tokens, repo):
    url = f"/api/models/{repo.repo_id}/settings"
    assert post(client, url, {"private": True}, tokens["bob"], method="put").status_code == 403
    assert post(client, url, {"private": True}, tokens["alice_read"], method="put").status_code == 403
    assert post(client, url, {"private": True}, None, method="put").status_code == 401
    assert post(client, url, {"gated": "sometimes"}, tokens["alice"], method="put").status_code == 400
    r = post(client, f"/api/datasets/{repo.repo_id}/settings", {"private": True}, tokens["alice"], method="put")
    assert r.status_code == 404 and r["X-Error-Code"] == "RepoNotFound"
    repo.refresh_from_db()
    assert not repo.private
