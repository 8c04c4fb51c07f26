"""Reads on accounts: users by name and organization memberships."""
from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Membership, Organization, User
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
