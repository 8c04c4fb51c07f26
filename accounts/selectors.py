"""Reads on accounts: users by name and organization memberships."""
from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import AuditEvent, Membership, Organization, User
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
