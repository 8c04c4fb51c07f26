"""Writes on organizations and their members. Every change of rights is audited.

The callers have authorized: `repos.gate.can_admin_org` for member changes; any
signed-in user may create an organization (they become its first admin).
"""
from __future__ import annotations

from django.db import transaction

from accounts.models import Membership, Organization, User
from accounts.services.audit import audit
from accounts.services.users import namespace_check
from hub.exceptions import BadRequest, Conflict, NotFound


def _target(org: Organization) -> str:
    return f"org:{org.name}"


def _role(role: str) -> str:
    if role not in Membership.Role.values:
        raise BadRequest(f"Invalid role {role!r}: use one of {', '.join(Membership.Role.values)}")
    return role


@transaction.atomic
def org_create(*, user: User, name: str, fullname: str = "", ip: str | None = None) -> Organization:
    """Create an organization with `user` as its admin. Names share one namespace with users."""
    namespace_check(name, kind="organization")
    org = Organization.objects.create(name=name, fullname=fullname[:150])
    Membership.objects.create(organization=org, user=user, role=Membership.Role.ADMIN)
    audit(action="org.create", actor=user, target=_target(org), ip=ip)
    return org


def _admins_left(org: Organization, *, without: User) -> bool:
    return (Membership.objects.filter(organization=org, role=Membership.Role.ADMIN)
            .exclude(user=without).exists())


@transaction.atomic
def membership_add(*, org: Organization, user: User, role: str, actor: User,
                   ip: str | None = None) -> Membership:
    """Add `user` to `org` with `role` (409 if already a member)."""
    role = _role(role)
    membership, created = Membership.objects.get_or_create(organization=org, user=user, defaults={"role": role})
    if not created:
        raise Conflict(f"{user.username} is already a member of {org.name}")
    audit(action="org.member.add", actor=actor, target=_target(org), ip=ip, user=user.username, role=role)
    return membership


@transaction.atomic
def membership_update(*, org: Organization, user: User, role: str, actor: User,
                      ip: str | None = None) -> Membership:
    """Change a member's role; the last admin cannot be demoted (the org would be unmanageable)."""
    role = _role(role)
    membership = Membership.objects.select_for_update().filter(organization=org, user=user).first()
    if membership is None:
        raise NotFound(f"{user.username} is not a member of {org.name}")
    if membership.role == role:
        return membership
    if membership.role == Membership.Role.ADMIN and not _admins_left(org, without=user):
        raise BadRequest("An organization needs at least one admin")
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit(action="org.change_role", actor=actor, target=_target(org), ip=ip, user=user.username,
          old_role=old, role=role)
    return membership


@transaction.atomic
def membership_remove(*, org: Organization, user: User, actor: User, ip: str | None = None) -> None:
    membership = Membership.objects.select_for_update().filter(organization=org, user=user).first()
    if membership is None:
        raise NotFound(f"{user.username} is not a member of {org.name}")
    if membership.role == Membership.Role.ADMIN and not _admins_left(org, without=user):
        raise BadRequest("An organization needs at least one admin")
    membership.delete()
    audit(action="org.member.remove", actor=actor, target=_target(org), ip=ip, user=user.username)
