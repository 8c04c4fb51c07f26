"""The people, organization, tokens and repositories of the access tests.

Organization `acme` owns the repositories. Personas (all with write tokens unless noted):
anonymous; stranger (no relation); reader (read collaborator of the repo); contributor,
writer, admin (acme roles); other_org (admin of another org); scoped_elsewhere (an acme admin
whose fine-grained token is scoped to another repository); revoked and expired (acme admins
whose tokens are dead).
"""
from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.utils import timezone

from accounts.models import AccessToken, Membership, Organization, User
from accounts.services.tokens import ScopeGrant, token_revoke
from repos.models import Repository
from repos.reviews.services.discussions import discussion_create
from tests.factories import (
    CollaboratorFactory,
    MembershipFactory,
    OrganizationFactory,
    RepositoryFactory,
    TokenFactory,
    UserFactory,
    commit,
)

PERSONAS = ("anonymous", "stranger", "reader", "contributor", "writer", "admin", "other_org",
            "scoped_elsewhere", "revoked", "expired")
KINDS = ("public", "private", "gated")
ORG = "acme"
PASSWORD = "Correct-Horse-Battery-9"


@dataclass
class World:
    users: dict[str, User] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # persona -> secret
    org: Organization | None = None

    def headers(self, persona: str, *, basic: bool = False) -> dict[str, str]:
        """The persona's token as `Bearer`, or as git sends it: Basic with any username."""
        token = self.tokens.get(persona)
        if not token:
            return {}
        if basic:
            return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"git-user:{token}".encode()).decode()}
        return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def make_repo(world: World, kind: str, name: str | None = None, *, owner: str = "admin") -> tuple[Repository, str]:
    """A repository of `kind` in acme with a config and a card; the reader persona is its
    read collaborator."""
    repo = RepositoryFactory(owner=world.users[owner], namespace=ORG, name=name or f"r-{uuid.uuid4().hex[:8]}",
                             private=kind == "private", gated=Repository.Gated.MANUAL if kind == "gated" else "")
    sha = commit(repo, files={"config.json": b'{"model_type": "bert"}\n', "README.md": b"# card\n"})
    # Pull request #1, by the owner persona: the discussion routes act on it.
    discussion_create(repo=repo, author=world.users[owner], title="Matrix pull request", pull_request=True)
    if "reader" in world.users:
        CollaboratorFactory(repo=repo, user=world.users["reader"], role="read", actor=world.users[owner])
    return repo, sha


def build_world() -> World:
    world = World()
    names = {"stranger": "sid", "reader": "rhea", "contributor": "cleo", "writer": "walt", "admin": "olga",
             "other_org": "otto", "scoped_elsewhere": "sam", "revoked": "rita", "expired": "ezra"}
    for persona, username in names.items():
        world.users[persona] = UserFactory(username=username, password=PASSWORD)
    # Created by their admins (org_create makes the creator the first admin), members added by them.
    world.org = OrganizationFactory(name=ORG, admin=world.users["admin"])
    OrganizationFactory(name="otherorg", admin=world.users["other_org"])
    roles: dict[str, Any] = {"contributor": Membership.Role.CONTRIBUTOR, "writer": Membership.Role.WRITE,
                             "scoped_elsewhere": Membership.Role.ADMIN, "revoked": Membership.Role.ADMIN,
                             "expired": Membership.Role.ADMIN}
    for persona, role in roles.items():
        MembershipFactory(org=world.org, user=world.users[persona], role=role, actor=world.users["admin"])
    for persona, user in world.users.items():
        if persona == "scoped_elsewhere":
            elsewhere = RepositoryFactory(owner=user, name="elsewhere", private=True)
            token = TokenFactory(user=user, name="fg", role=AccessToken.Role.FINE_GRAINED,
                                 scopes=[ScopeGrant(access="write", repository=elsewhere)])
        else:
            token = TokenFactory(user=user, name="w", role=AccessToken.Role.WRITE)
            if persona == "revoked":
                token_revoke(token=token)
            if persona == "expired":
                # No service ages a token (token_create refuses a past expiry): the row is moved
                # past its expiry, as time would.
                token.expires_at = timezone.now() - timedelta(minutes=1)
                token.save(update_fields=["expires_at"])
        world.tokens[persona] = token.secret
    return world
