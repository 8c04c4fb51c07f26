"""Reads on accounts: users by name and organization memberships."""
from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import AccessToken, AuditEvent, Membership, Organization, User
from hub.exceptions import NotFound


def user_by_name(username: str) -> User:
    """The active user called `username`, or NotFound."""
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise NotFound(f"User {username!r} not found")
    return user


def org_members(org: Organization) -> QuerySet[Membership]:
    """The memberships of `org` with their users, by username."""
    return Membership.objects.filter(organization=org).select_related("user").order_by("user__username")


def user_memberships(user: User) -> QuerySet[Membership]:
    """The organizations `user` belongs to (with roles), by organization name."""
    return Membership.objects.filter(user=user).select_related("organization").order_by("organization__name")


MAX_AUDIT_EVENTS = 10_000


def audit_events_for_org(*, org: Organization) -> QuerySet[AuditEvent]:
    """The org's own events and those of the repositories under its name, newest first."""
    # Targets are "org:{name}" for the organization and "{type}:{namespace}/{name}" for a
    # repository; names hold no ":" or "/", so ":{org}/" matches exactly the org's repositories.
    q = Q(target=f"org:{org.name}") | Q(target__contains=f":{org.name}/")
    return AuditEvent.objects.filter(q).select_related("actor").order_by("-created_at", "-pk")[:MAX_AUDIT_EVENTS]


def organization_by_name(name: str) -> Organization:
    """The organization called `name`, or NotFound."""
    org = Organization.objects.filter(name=name).first()
    if org is None:
        raise NotFound(f"Organization {name!r} not found")
    return org


def organization_list(*, limit: int = 1000) -> QuerySet[Organization]:
    """Organizations by name (names are public, like user names)."""
    return Organization.objects.order_by("name")[:limit]


def namespace_owner(name: str) -> Organization | User | None:
    """The organization or the active user whose namespace is `name`, or None."""
    return (Organization.objects.filter(name=name).first()
            or User.objects.filter(username=name, is_active=True).first())


def tokens_of(user: User) -> QuerySet[AccessToken]:
    """`user`'s tokens that are not revoked, newest first, scopes prefetched."""
    return (AccessToken.objects.filter(user=user, revoked_at__isnull=True)
            .prefetch_related("scopes__organization", "scopes__repository").order_by("-created_at"))


def token_of(user: User, token_id: int | str) -> AccessToken:
    """One of `user`'s tokens by id, or NotFound (another user's token looks missing)."""
    token = AccessToken.objects.filter(user=user, pk=token_id).first() if str(token_id).isdigit() else None
    if token is None:
        raise NotFound("Token not found")
    return token
