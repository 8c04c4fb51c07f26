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
from accounts.object_permissions import object_role_set
from accounts.services.tokens import ScopeGrant, token_create
from accounts.services.users import user_create
from repos.git.commit import PutFile, commit_to_ref
from repos.handles import git_repo
from repos.models import Repository
from repos.reviews.services.discussions import discussion_create
from repos.services.index import repo_reindex
from repos.services.repos import author_signature, repo_create

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


def commit_files(repo: Repository, files: dict[str, bytes]) -> str:
    git = git_repo(repo)
    sha = commit_to_ref(git, ref="refs/heads/main", ops=[PutFile(p, d) for p, d in files.items()],
                        author=author_signature(repo.owner), message="Add files")
    repo_reindex(repo=repo, git=git)
    return sha


def make_repo(world: World, kind: str, name: str | None = None, *, owner: str = "admin") -> tuple[Repository, str]:
    """A repository of `kind` in acme with a config and a card; the reader persona is its
    read collaborator."""
    repo = repo_create(user=world.users[owner], namespace=ORG, name=name or f"r-{uuid.uuid4().hex[:8]}",
                       private=kind == "private")
    if kind == "gated":
        repo.gated = Repository.Gated.MANUAL
        repo.save(update_fields=["gated"])
    sha = commit_files(repo, {"config.json": b'{"model_type": "bert"}\n', "README.md": b"# card\n"})
    # Pull request #1, by the owner persona: the discussion routes act on it.
    discussion_create(repo=repo, author=world.users[owner], title="Matrix pull request", pull_request=True)
    if "reader" in world.users:
        object_role_set(user=world.users["reader"], obj=repo, role="read")
    return repo, sha


def build_world() -> World:
    world = World()
    names = {"stranger": "sid", "reader": "rhea", "contributor": "cleo", "writer": "walt", "admin": "olga",
             "other_org": "otto", "scoped_elsewhere": "sam", "revoked": "rita", "expired": "ezra"}
    for persona, username in names.items():
        world.users[persona] = user_create(username=username, password=PASSWORD, email=f"{username}@example.com")
    world.org = Organization.objects.create(name=ORG)
    other = Organization.objects.create(name="otherorg")
    roles: dict[str, Any] = {"contributor": Membership.Role.CONTRIBUTOR, "writer": Membership.Role.WRITE,
                             "admin": Membership.Role.ADMIN, "scoped_elsewhere": Membership.Role.ADMIN,
                             "revoked": Membership.Role.ADMIN, "expired": Membership.Role.ADMIN}
    for persona, role in roles.items():
        Membership.objects.create(organization=world.org, user=world.users[persona], role=role)
    Membership.objects.create(organization=other, user=world.users["other_org"], role=Membership.Role.ADMIN)
    for persona, user in world.users.items():
        if persona == "scoped_elsewhere":
            elsewhere = repo_create(user=user, namespace=user.username, name="elsewhere", private=True)
            _token, key = token_create(user=user, name="fg", role=AccessToken.Role.FINE_GRAINED,
                                       scopes=[ScopeGrant(access="write", repository=elsewhere)])
        else:
            token, key = token_create(user=user, name="w", role=AccessToken.Role.WRITE)
            if persona == "revoked":
                token.revoked_at = timezone.now()
                token.save(update_fields=["revoked_at"])
            if persona == "expired":
                token.expires_at = timezone.now() - timedelta(minutes=1)
                token.save(update_fields=["expires_at"])
        world.tokens[persona] = key
    return world
