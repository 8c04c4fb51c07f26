"""The gate's functions directly: levels, token caps, visibility filters."""
from __future__ import annotations

import pytest

from accounts.models import AccessToken
from accounts.services.tokens import ScopeGrant
from repos import gate
from repos.models import Repository
from repos.services.access import access_request_grant
from tests.factories import MembershipFactory, OrganizationFactory, RepositoryFactory, TokenFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    ann = UserFactory(username="ann", password="x-Passw0rd!")
    root = UserFactory(username="root", password="x-Passw0rd!", is_admin=True)
    org = OrganizationFactory(name="acme", admin=root)
    MembershipFactory(org=org, user=ann, role="contributor")
    own = RepositoryFactory(owner=ann, name="own", private=True)
    org_repo = RepositoryFactory(owner=root, namespace="acme", name="o", private=True)
    other = RepositoryFactory(owner=root, name="p", private=True)
    return ann, root, org, own, org_repo, other


def test_levels_and_token_caps(setup):
    ann, root, org, own, org_repo, other = setup
    read = TokenFactory(user=ann, name="r", role="read")
    assert gate.user_level(ann, own) == gate.ADMIN and gate.user_level(ann, org_repo) == gate.CONTRIBUTE
    assert gate.can_write(ann, own) and not gate.can_write(ann, own, token=read)
    assert gate.can_read(ann, org_repo) and not gate.can_write(ann, org_repo)
    assert gate.can_open_pull_request(ann, org_repo) and not gate.can_open_pull_request(ann, org_repo, token=read)
    assert not gate.can_read(ann, other) and gate.can_admin(root, own)


def test_user_scope_covers_the_own_namespace_only(setup):
    ann, root, org, own, org_repo, other = setup
    fg = TokenFactory(user=ann, name="fg", role=AccessToken.Role.FINE_GRAINED, scopes=[ScopeGrant(access="write")])
    assert gate.can_write(ann, own, token=fg)
    assert not gate.can_read(ann, org_repo, token=fg)
    assert gate.can_create_in_namespace(ann, "ann", token=fg)
    assert not gate.can_create_in_namespace(ann, "acme", token=fg)
    assert gate.creatable_namespaces(ann, token=fg) == ["ann"]
    assert set(gate.repos_visible_to(ann, token=fg)) == {own}
    assert set(gate.repos_visible_to(ann)) == {own, org_repo}


def test_superuser_sees_everything_unless_the_token_is_scoped(setup):
    ann, root, org, own, org_repo, other = setup
    assert set(gate.repos_visible_to(root)) == {own, org_repo, other}
    fg = TokenFactory(user=root, name="fg", role=AccessToken.Role.FINE_GRAINED,
                      scopes=[ScopeGrant(access="read", organization=org)])
    assert set(gate.repos_visible_to(root, token=fg)) == {org_repo}
    assert not gate.can_write(root, org_repo, token=fg)


def test_download_on_gated_repos(setup):
    ann, root, org, own, org_repo, other = setup
    public = RepositoryFactory(owner=root, name="g", gated=Repository.Gated.MANUAL)
    assert gate.can_read(ann, public) and not gate.can_download(ann, public)
    assert gate.can_download(root, public)
    with pytest.raises(Exception) as exc:
        gate.check_file_access(ann, public)
    assert (exc.value.status, exc.value.code) == (403, "GatedRepo")
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(Exception) as exc:
        gate.check_file_access(AnonymousUser(), public)
    assert exc.value.status == 401
    access_request_grant(repo=public, user=ann, actor=root)
    assert gate.can_download(ann, public)
    # A token scoped elsewhere does not carry the approval.
    fg = TokenFactory(user=ann, name="fg", role=AccessToken.Role.FINE_GRAINED, scopes=[ScopeGrant()])
    assert not gate.can_download(ann, public, token=fg)
