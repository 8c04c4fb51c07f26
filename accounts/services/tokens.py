"""Access tokens: creation (with fine-grained scopes and expiry), lookup, revocation.

The one home of the token format. The secret is returned once by `token_create` and never
stored (only its SHA-256); audit events name tokens by id and label, never by value.
"""
from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from django.db import DatabaseError, transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone

from accounts.models import AccessToken, Membership, Organization, TokenScope, User
from accounts.permissions import Principal
from accounts.services.audit import audit
from hub.exceptions import BadRequest, NotFound

logger = logging.getLogger(__name__)

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "hf_"  # clients check startswith("hf_") in places


@dataclass(frozen=True)
class ScopeGrant:
    """One scope of a fine-grained token: a repository (a `repos.Repository`), an
    organization, or neither (the user's own namespace); `access` is "read", "write" or
    "admin" (`TokenScope.Access`)."""

    access: str = TokenScope.Access.READ
    repository: Any = None
    organization: Organization | None = None


@transaction.atomic
def token_create(*, user: User, name: str, role: str = AccessToken.Role.READ,
                 expires_at: datetime | None = None, scopes: Sequence[ScopeGrant] = (),
                 ip: str | None = None) -> tuple[AccessToken, str]:
    """Create a token and return it with its secret, which is never stored. Audited.

    `scopes` only for `fineGrained` tokens (which without scopes can do nothing beyond
    anonymous access).
    """
    if role not in AccessToken.Role.values:
        raise BadRequest(f"Unknown token role {role!r}")
    if scopes and role != AccessToken.Role.FINE_GRAINED:
        raise BadRequest("Only fine-grained tokens have scopes")
    if expires_at is not None and expires_at <= timezone.now():
        raise BadRequest("The expiry date must be in the future")
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise BadRequest("A token needs a name of at most 100 characters")
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = AccessToken.objects.create(
        user=user, name=name, role=role, key_hash=AccessToken.hash_key(key), prefix=key[:8],
        expires_at=expires_at,
    )
    for scope in scopes:
        if scope.access not in TokenScope.Access.values:
            raise BadRequest(f"Unknown scope access {scope.access!r}")
        if scope.repository is not None and scope.organization is not None:
            raise BadRequest("A scope names a repository or an organization, not both")
        TokenScope.objects.create(token=token, repository=scope.repository, organization=scope.organization,
                                  access=scope.access)
    audit(action="token.create", actor=user, target=f"token:{token.pk}", ip=ip, name=name, role=role,
          expires_at=expires_at.isoformat() if expires_at else None, scopes=len(scopes))
    return token, key


def token_authenticate(key: str) -> AccessToken | None:
    """The active token for `key`, or None (unknown, revoked, expired or inactive user)."""
    if not key or len(key) > 200:
        return None
    try:
        token = AccessToken.objects.select_related("user").get(key_hash=AccessToken.hash_key(key))
    except AccessToken.DoesNotExist:
        return None
    if not token.is_active or not token.user.is_active:
        return None
    if token.role == AccessToken.Role.FINE_GRAINED:
        # The permission gate consults the scopes several times per request.
        prefetch_related_objects([token], "scopes__organization", "scopes__repository")
    now = timezone.now()
    # Throttle the write: a token used by a download loop must not turn every GET into a
    # database write.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        # Bookkeeping, never a reason to fail the request: under write contention (SQLite's one
        # writer, a long transaction elsewhere) or on a full disk the stamp is simply skipped.
        try:
            with transaction.atomic():
                AccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
        except DatabaseError as exc:
            logger.info("token %s: last_used_at not updated (%s)", token.pk, exc)
    return token


def token_revoke(*, token: AccessToken, actor: User | None = None, ip: str | None = None) -> None:
    """Revoke `token` (idempotent; audited once). Takes effect on the next request: every
    request looks the token up again."""
    with transaction.atomic():
        updated = AccessToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        if updated:
            audit(action="token.revoke", actor=actor or token.user, target=f"token:{token.pk}", ip=ip,
                  name=token.name)
    token.refresh_from_db(fields=["revoked_at"])


def token_revoke_leaked(*, key: str, where: str) -> bool:
    """Revoke the token whose secret is `key` because it was found in public content (`where`:
    a repository file, for the audit log); True if an active token was revoked. The owner sees
    the revocation in their audit log; unknown or already revoked keys change nothing."""
    if not key or len(key) > 200:
        return False
    token = AccessToken.objects.select_related("user").filter(key_hash=AccessToken.hash_key(key)).first()
    if token is None or token.revoked_at is not None:
        return False
    with transaction.atomic():
        updated = AccessToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        if updated:
            audit(action="token.revoke", actor=token.user, target=f"token:{token.pk}", ip=None, name=token.name,
                  reason="leaked", found_in=where[:300])
    return bool(updated)


class RepositoryScopes(Protocol):
    """What the repository app tells accounts about repositories as token scopes (registered
    by `repos` at start-up: accounts never imports repos)."""

    kinds: tuple[str, ...]  # scope types that name a repository ("model", "dataset", ...)

    def resolve(self, user: Principal, kind: str, namespace: str, name: str) -> Any:
        """The repository `user` can read, or raise NotFound (hidden == missing)."""

    def choices(self, user: Principal) -> list[tuple[str, str]]:
        """("kind:namespace/name", label) of the repositories a scope chooser offers `user`."""


_repository_scopes: RepositoryScopes | None = None


def register_repository_scopes(provider: RepositoryScopes) -> None:
    global _repository_scopes
    _repository_scopes = provider


def repository_scopes() -> RepositoryScopes:
    if _repository_scopes is None:  # pragma: no cover - repos registers it in AppConfig.ready
        raise RuntimeError("no repository scope provider registered")
    return _repository_scopes


def token_scope_grant(user: User, scope: dict[str, Any]) -> ScopeGrant:
    """A scope the user is entitled to name: a repository they can read, an organization they
    belong to, or their own namespace. The scope never adds rights (the gate intersects)."""
    kind, name, access = scope["type"], scope.get("name") or "", scope["access"]
    if kind == "user":
        if name not in ("", user.username):
            raise BadRequest("A user scope can only name yourself")
        return ScopeGrant(access=access)
    if kind == "org":
        org = Organization.objects.filter(name=name).first()
        if org is None or not Membership.objects.filter(organization=org, user=user).exists():
            raise NotFound(f"Organization {name!r} not found")
        return ScopeGrant(access=access, organization=org)
    provider = repository_scopes()
    if kind not in provider.kinds:
        raise BadRequest(f"Invalid scope type {kind!r}")
    namespace, slash, repo_name = name.partition("/")
    if not slash:
        raise BadRequest(f"Invalid repository {name!r}: expected 'namespace/name'")
    return ScopeGrant(access=access, repository=provider.resolve(user, kind, namespace, repo_name))
