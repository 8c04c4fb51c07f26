"""Fine-grained token scopes read, write and admin (issue 9, item 3): the levels in the gate,
the issue's scenario end to end, whoami, the tokens API and the token and settings pages.

The route-by-route outcomes are in test_token_scope_matrix; here, what actually happens.
"""
from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from accounts import permissions
from accounts.models import AccessToken, Membership, Organization, TokenScope
from accounts.services.tokens import ScopeGrant, token_create
from accounts.services.users import user_create
from repos import gate
from repos.git.commit import PutFile, commit_to_ref
from repos.handles import git_repo
from repos.models import Repository
from repos.selectors.access import collaborator_list
from repos.services.repos import author_signature, repo_create

pytestmark = pytest.mark.django_db

FG = AccessToken.Role.FINE_GRAINED


@pytest.fixture
def acme():
    """olga admins acme and its repository `acme/m` (two commits on main); walt writes there."""
    olga = user_create(username="olga", password="x-Passw0rd!")
    walt = user_create(username="walt", password="x-Passw0rd!")
    user_create(username="nobody", password="x-Passw0rd!")
    org = Organization.objects.create(name="acme")
    Membership.objects.create(organization=org, user=olga, role=Membership.Role.ADMIN)
    Membership.objects.create(organization=org, user=walt, role=Membership.Role.WRITE)
    repo = repo_create(user=olga, namespace="acme", name="m")
    git = git_repo(repo)
    for n in (1, 2):
        commit_to_ref(git, ref="refs/heads/main", ops=[PutFile(f"f{n}.txt", b"x")], author=author_signature(olga),
                      message=f"commit {n}")
    return olga, walt, org, repo


def fine(user: Any, access: str, **target: Any) -> AccessToken:
    return token_create(user=user, name=f"fg-{access}", role=FG, scopes=[ScopeGrant(access, **target)])[0]


def key(user: Any, role: str, *scopes: ScopeGrant) -> str:
    return token_create(user=user, name="k", role=role, scopes=scopes)[1]


def call(method: str, path: str, secret: str, body: Any = None) -> Any:
    return Client().generic(method, path, json.dumps(body) if body is not None else "",
                            content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {secret}")


# ----------------------------------------------------------------------------- the gate


def test_levels_of_each_token_on_a_repository(acme):
    olga, walt, org, repo = acme
    caps = {
        "session": gate.token_cap(None, repo),
        "write": gate.token_cap(token_create(user=olga, name="w", role="write")[0], repo),
        "read": gate.token_cap(token_create(user=olga, name="r", role="read")[0], repo),
        "fg read": gate.token_cap(fine(olga, "read", repository=repo), repo),
        "fg write": gate.token_cap(fine(olga, "write", repository=repo), repo),
        "fg admin": gate.token_cap(fine(olga, "admin", repository=repo), repo),
        "fg org admin": gate.token_cap(fine(olga, "admin", organization=org), repo),
        "fg own namespace admin": gate.token_cap(fine(olga, "admin"), repo),
    }
    assert caps == {"session": gate.ADMIN, "write": gate.ADMIN, "read": gate.READ, "fg read": gate.READ,
                    "fg write": gate.MANAGE, "fg admin": gate.ADMIN, "fg org admin": gate.ADMIN,
                    "fg own namespace admin": gate.NONE}
    assert gate.READ < gate.CONTRIBUTE < gate.WRITE < gate.MANAGE < gate.ADMIN


def test_fine_grained_write_manages_settings_but_does_not_administer(acme):
    olga, walt, org, repo = acme
    fg_write, fg_admin = fine(olga, "write", repository=repo), fine(olga, "admin", repository=repo)
    assert gate.can_write(olga, repo, token=fg_write) and gate.can_manage(olga, repo, token=fg_write)
    assert not gate.can_admin(olga, repo, token=fg_write)
    assert gate.can_admin(olga, repo, token=fg_admin) and gate.can_admin(olga, repo)
    with pytest.raises(Exception) as exc:
        gate.check_access(olga, repo, "admin", token=fg_write)
    assert exc.value.status == 403 and "admin access" in exc.value.message
    gate.check_access(olga, repo, "settings", token=fg_write)


def test_a_token_never_grants_more_than_its_user_holds(acme):
    olga, walt, org, repo = acme
    walt_admin = fine(walt, "admin", repository=repo)  # walt only writes to acme's repositories
    assert gate.can_write(walt, repo, token=walt_admin)
    assert not gate.can_manage(walt, repo, token=walt_admin) and not gate.can_admin(walt, repo, token=walt_admin)
    with pytest.raises(Exception) as exc:
        gate.check_access(walt, repo, "admin", token=walt_admin)
    assert exc.value.message == "You don't have admin rights on this repository"
    assert not permissions.can_admin_org(walt, org, token=fine(walt, "admin", organization=org))
    read = token_create(user=olga, name="r", role="read")[0]
    assert not gate.can_write(olga, repo, token=read) and not gate.can_manage(olga, repo, token=read)


def test_organization_scopes(acme):
    olga, walt, org, repo = acme
    org_write, org_admin = fine(olga, "write", organization=org), fine(olga, "admin", organization=org)
    assert permissions.org_token_cap(org_write, org) == permissions.MANAGE
    assert not permissions.can_admin_org(olga, org, token=org_write)
    assert permissions.can_see_org_members(olga, org, token=org_write)
    assert permissions.can_admin_org(olga, org, token=org_admin)
    # Both create repositories there; a repository scope does not.
    assert gate.can_create_in_namespace(olga, "acme", token=org_write)
    assert gate.can_create_in_namespace(olga, "acme", token=org_admin)
    assert not gate.can_create_in_namespace(olga, "acme", token=fine(olga, "admin", repository=repo))
    assert gate.can_create_in_namespace(olga, "olga", token=fine(olga, "admin"))


def test_moving_needs_the_destination_unless_it_is_a_rename(acme):
    olga, walt, org, repo = acme
    repo_admin = fine(olga, "admin", repository=repo)
    assert gate.can_move_to(olga, repo, "acme", token=repo_admin)
    assert not gate.can_move_to(olga, repo, "olga", token=repo_admin)
    both = token_create(user=olga, name="both", role=FG, scopes=[ScopeGrant("admin", repository=repo),
                                                                 ScopeGrant("write")])[0]
    assert gate.can_move_to(olga, repo, "olga", token=both)


# ----------------------------------------------------------------------------- the scenario


def test_a_write_scoped_token_cannot_administer_the_repository(acme):
    olga, walt, org, repo = acme
    secret = key(olga, FG, ScopeGrant("write", repository=repo))
    head = git_repo(repo).resolve("main")
    # Contents and settings: yes.
    assert call("POST", "/api/models/acme/m/branch/feature", secret, {}).status_code == 200
    r = call("PUT", "/api/models/acme/m/settings", secret, {"private": True, "gated": "manual"})
    assert r.status_code == 200 and r.json() == {"private": True, "visibility": "private", "gated": "manual"}
    # Collaborators, history rewrite, audit export, rename, delete: no, and nothing changed.
    r = call("POST", "/api/models/acme/m/collaborators", secret, {"user": "nobody", "role": "admin"})
    assert r.status_code == 403 and "admin access" in r["X-Error-Message"]
    assert collaborator_list(repo=repo) == []
    r = call("POST", "/api/models/acme/m/super-squash/main", secret, {})
    assert r.status_code == 403 and "admin" in r["X-Error-Message"]
    assert git_repo(repo).resolve("main") == head
    assert call("GET", "/api/models/acme/m/audit", secret).status_code == 403
    assert call("POST", "/api/repos/move", secret, {"fromRepo": "acme/m", "toRepo": "acme/renamed"}).status_code == 403
    assert call("DELETE", "/api/repos/delete", secret, {"name": "m", "organization": "acme"}).status_code == 403
    r = Client().post("/acme/m/settings/delete", {"confirm": "acme/m"}, HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert r.status_code == 403
    assert Repository.objects.filter(pk=repo.pk, namespace="acme", name="m").exists()


def test_an_admin_scoped_token_can(acme):
    olga, walt, org, repo = acme
    secret = key(olga, FG, ScopeGrant("admin", repository=repo))
    head = git_repo(repo).resolve("main")
    assert call("POST", "/api/models/acme/m/collaborators", secret, {"user": "nobody", "role": "read"}).json() == [
        {"user": "nobody", "fullname": "nobody", "role": "read"}]
    r = call("POST", "/api/models/acme/m/super-squash/main", secret, {})
    assert r.status_code == 200 and r.json()["commitOid"] != head
    assert call("GET", "/api/models/acme/m/audit", secret).status_code == 200
    r = call("POST", "/api/repos/move", secret, {"fromRepo": "acme/m", "toRepo": "acme/renamed"})
    assert r.status_code == 200, r.content
    # A transfer out of the namespace also needs the destination.
    r = call("POST", "/api/repos/move", secret, {"fromRepo": "acme/renamed", "toRepo": "olga/mine"})
    assert r.status_code == 403
    assert call("DELETE", "/api/repos/delete", secret, {"name": "renamed", "organization": "acme"}).status_code == 200
    assert not Repository.objects.filter(pk=repo.pk).exists()


def test_organization_members_need_an_admin_scope(acme):
    olga, walt, org, repo = acme
    org_write = key(olga, FG, ScopeGrant("write", organization=org))
    org_admin = key(olga, FG, ScopeGrant("admin", organization=org))
    assert call("GET", "/api/organizations/acme/members", org_write).status_code == 200
    assert call("POST", "/api/organizations/acme/members", org_write, {"user": "nobody"}).status_code == 403
    assert call("DELETE", "/api/organizations/acme/members/walt", org_write).status_code == 403
    assert call("GET", "/api/organizations/acme/audit", org_write).status_code == 403
    r = Client().post("/acme/settings/members/walt/role", {"role": "admin"}, HTTP_AUTHORIZATION=f"Bearer {org_write}")
    assert r.status_code == 403
    assert Membership.objects.get(organization=org, user=walt).role == Membership.Role.WRITE
    assert call("POST", "/api/organizations/acme/members", org_admin, {"user": "nobody"}).status_code == 200
    assert call("GET", "/api/organizations/acme/audit", org_admin).status_code == 200


# ----------------------------------------------------------------------------- whoami and the tokens API


def test_whoami_names_what_each_scope_grants(acme):
    olga, walt, org, repo = acme
    secret = key(olga, "write")
    r = call("POST", "/api/tokens", secret, {"name": "fg", "role": "fineGrained", "scopes": [
        {"type": "model", "name": "acme/m", "access": "admin"},
        {"type": "org", "name": "acme", "access": "admin"},
        {"type": "user", "name": "olga", "access": "write"},
        {"type": "org", "name": "acme", "access": "read"}]})
    assert r.status_code == 201, r.content
    assert [s.access for s in AccessToken.objects.get(name="fg").scopes.order_by("pk")] == [
        "admin", "admin", "write", "read"]
    scoped = call("GET", "/api/whoami-v2", r.json()["token"]).json()["auth"]["accessToken"]["fineGrained"]["scoped"]
    assert [(s["entity"]["type"], s["entity"]["name"], s["permissions"]) for s in scoped] == [
        ("model", "acme/m", ["repo.content.read", "repo.write", "repo.admin"]),
        ("org", "acme", ["repo.content.read", "repo.write", "repo.admin", "org.admin"]),
        ("user", "olga", ["repo.content.read", "repo.write"]),
        ("org", "acme", ["repo.content.read"])]
    r = call("POST", "/api/tokens", secret, {"name": "x", "role": "fineGrained", "scopes": [
        {"type": "model", "name": "acme/m", "access": "owner"}]})
    assert r.status_code == 400 and not AccessToken.objects.filter(name="x").exists()


def test_scope_access_values():
    assert TokenScope.Access.values == ["read", "write", "admin"]
    assert set(permissions.SCOPE_LEVEL) == set(TokenScope.Access)


# ----------------------------------------------------------------------------- pages


def test_token_page_explains_the_three_levels_and_lists_each_scopes_level(acme):
    olga, walt, org, repo = acme
    client = Client()
    client.force_login(olga)
    page = client.get("/settings/tokens").content.decode()
    for value in ("read", "write", "admin"):
        assert f'name="scope_access" value="{value}"' in page
    assert "Write: contents and settings" in page
    assert "Admin: also delete, rename, transfer, collaborators, history rewrite" in page
    r = client.post("/settings/tokens", {"name": "ci", "role": "fineGrained", "scope_access": "admin",
                                         "scope_repos": ["model:acme/m"]})
    assert r.status_code == 200
    assert [(s.repository_id, s.access) for s in AccessToken.objects.get(name="ci").scopes.all()] == [
        (repo.pk, "admin")]
    client.post("/settings/tokens", {"name": "ci2", "role": "fineGrained", "scope_access": "write",
                                     "scope_orgs": ["acme"]})
    listing = client.get("/settings/tokens").content.decode()
    assert '<li data-scope-access="admin"><span class="scope-level">admin</span> on acme/m</li>' in listing
    assert '<li data-scope-access="write"><span class="scope-level">write</span> on org acme</li>' in listing


def test_settings_page_with_a_write_scoped_token_shows_the_settings_it_may_change(acme):
    olga, walt, org, repo = acme
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key(olga, FG, ScopeGrant('write', repository=repo))}"}
    home = Client().get("/acme/m", **auth).content.decode()
    assert 'href="/acme/m/settings"' in home
    page = Client().get("/acme/m/settings", **auth).content.decode()
    assert 'id="visibility"' in page and 'id="gating"' in page
    assert 'id="collaborators"' not in page and 'id="delete"' not in page and 'id="audit"' not in page
    assert "need a token with admin access" in page
    r = Client().post("/acme/m/settings/visibility", {"visibility": "private"}, **auth)
    assert r.status_code == 302
    repo.refresh_from_db()
    assert repo.private
    r = Client().post("/acme/m/settings/collaborators", {"username": "nobody", "role": "admin"}, **auth)
    assert r.status_code == 403 and collaborator_list(repo=repo) == []

    admin = {"HTTP_AUTHORIZATION": f"Bearer {key(olga, FG, ScopeGrant('admin', repository=repo))}"}
    page = Client().get("/acme/m/settings", **admin).content.decode()
    assert 'id="collaborators"' in page and 'id="delete"' in page and 'id="audit"' in page
