"""Who a request acts for, and what principals may do on accounts (organizations, tokens).

The repository rules live in `repos.gate`, which builds on these predicates. A token can only
narrow what its user may do: `token_cap_where` (and `org_token_cap`, `namespace_token_allows`
built on it) express that cap; the rule takes the smaller of the user's level and the cap.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

from django.contrib.auth.models import AnonymousUser
from typing_extensions import TypeIs

from accounts.models import AccessToken, Membership, Organization, TokenScope, User
from hub.exceptions import Unauthorized

# Who a request acts for: a user, or the anonymous visitor. Every rule takes one.
Principal: TypeAlias = User | AnonymousUser

AUTH_REQUIRED = "You must be authenticated to perform this action"

# Levels shared with the repository gate: what a user or token may do, in increasing order.
# CONTRIBUTE: propose changes (pull requests); WRITE: contents (commits, branches, tags);
# MANAGE: also the settings that do not change who holds which rights (visibility, gating);
# ADMIN: also destructive and privilege-changing actions (delete, rename,
# transfer, collaborators and members, rewriting the default branch's history, audit exports).
# A user is never at MANAGE (repository and organization admins are ADMIN): MANAGE is what a
# fine-grained token's `write` scope caps its user at, as the Hub's "write access to
# contents/settings" does. ADMIN needs a scope that says `admin`, a classic write token or a
# browser session.
NONE, READ, CONTRIBUTE, WRITE, MANAGE, ADMIN = 0, 1, 2, 3, 4, 5

# What one scope of a fine-grained token lets its user do where the scope applies.
SCOPE_LEVEL: dict[str, int] = {TokenScope.Access.READ: READ, TokenScope.Access.WRITE: MANAGE,
                               TokenScope.Access.ADMIN: ADMIN}


def is_signed_in(user: Principal | None) -> TypeIs[User]:
    """A real, active account (not AnonymousUser, not a deactivated user)."""
    return isinstance(user, User) and user.is_authenticated and user.is_active


def request_principal(request: Any) -> tuple[Principal, AccessToken | None]:
    """(user, token) of a Django or DRF request.

    The user is evaluated here, before any lookup: a lazy session user first touched only
    when a private repo is found would add `Vary: Cookie` to exactly those responses and
    tell a hidden repository from a missing one.
    """
    raw = getattr(request, "_request", request)
    user = request.user
    is_signed_in(user)
    return user, getattr(raw, "auth_token", None)


def require_signed_in(request: Any) -> tuple[User, AccessToken | None]:
    """(user, token) of a signed-in caller; 401 for anonymous callers."""
    user, token = request_principal(request)
    if not isinstance(user, User) or not is_signed_in(user):
        raise Unauthorized(AUTH_REQUIRED)
    return user, token


def org_role(user: Principal, org: Organization) -> str | None:
    """`user`'s role in organization `org`, or None."""
    if not is_signed_in(user):
        return None
    membership = Membership.objects.filter(organization=org, user=user).only("role").first()
    return membership.role if membership else None


def token_cap_where(token: AccessToken | None, applies: Callable[[TokenScope], bool]) -> int:
    """THE token cap: the most `token` lets its user do on one target (ADMIN = no limit).

    No limit for a browser session (no token) or a classic write token, READ for a read
    token; a fine-grained token gets the best `SCOPE_LEVEL` of its scopes that `applies` to
    the target, NONE outside all of them (then it acts like anonymous)."""
    if token is None or token.role == AccessToken.Role.WRITE:
        return ADMIN
    if token.role == AccessToken.Role.READ:
        return READ
    # An access this code does not know (a newer row read by older code) grants nothing.
    return max((SCOPE_LEVEL.get(scope.access, NONE) for scope in token.scopes.all() if applies(scope)),
               default=NONE)


def org_token_cap(token: AccessToken | None, org: Organization) -> int:
    """The most `token` lets its user do on organization `org` itself (ADMIN = no limit)."""
    return token_cap_where(token, lambda scope: scope.repository_id is None and scope.organization_id == org.pk)


def can_admin_org(user: Principal, org: Organization, *, token: AccessToken | None = None) -> bool:
    """Manage members, settings and the audit log of `org`: its admins (and site admins); a
    fine-grained token needs `admin` access on the organization (`write` caps at MANAGE)."""
    if not is_signed_in(user) or org_token_cap(token, org) < ADMIN:
        return False
    return bool(user.is_superuser or org_role(user, org) == Membership.Role.ADMIN)


def can_see_org_members(user: Principal, org: Organization, *, token: AccessToken | None = None) -> bool:
    """Member lists are for members (any role) and site admins."""
    if not is_signed_in(user) or org_token_cap(token, org) < READ:
        return False
    return bool(user.is_superuser or org_role(user, org) is not None)


def can_manage_token(user: Principal, owner: User, *, token: AccessToken | None = None) -> bool:
    """Listing, creating and revoking `owner`'s tokens: `owner` themselves, in a browser
    session or with a write token (a read or fine-grained token cannot mint new power)."""
    if not is_signed_in(user) or user.pk != getattr(owner, "pk", None):
        return False
    return token is None or token.role == AccessToken.Role.WRITE


def can_create_organization(user: Principal, *, token: AccessToken | None = None) -> bool:
    """Any signed-in user, in a browser session or with a classic write token."""
    return is_signed_in(user) and (token is None or token.role == AccessToken.Role.WRITE)


def namespace_token_allows(token: AccessToken | None, user: User, namespace: str) -> bool:
    """Whether `token` lets `user` create repositories under `namespace` (the user's own rights
    there are checked separately)."""
    def applies(scope: TokenScope) -> bool:
        if scope.repository_id is not None:
            return False
        if scope.organization_id is None:
            return namespace == user.username
        return scope.organization is not None and scope.organization.name == namespace

    return token_cap_where(token, applies) >= WRITE


REVOKED_MESSAGE = "Your access token was revoked or has expired"
DEACTIVATED_MESSAGE = "Your account is deactivated"


def current_principal(user: Principal, token: AccessToken | None) -> tuple[Principal, AccessToken | None]:
    """`user` and `token` as the database holds them *now*, for the check made right before a
    ref moves (a request authenticated minutes ago may have lost its token or its account
    since). Raises Unauthorized for a revoked or expired token or a deactivated user; roles
    and grants need no refresh (the gate reads them on every call), token scopes do."""
    if not is_signed_in(user):
        return user, None
    fresh_user = User.objects.filter(pk=user.pk).first()
    if fresh_user is None or not fresh_user.is_active:
        raise Unauthorized(DEACTIVATED_MESSAGE)
    if token is None:
        return fresh_user, None
    fresh_token = AccessToken.objects.filter(pk=token.pk, user=fresh_user).prefetch_related(
        "scopes__organization", "scopes__repository").first()
    if fresh_token is None or not fresh_token.is_active:
        raise Unauthorized(REVOKED_MESSAGE)
    return fresh_user, fresh_token
