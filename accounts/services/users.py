"""Writes on users."""
from __future__ import annotations

from django.db import transaction

from accounts.models import Organization, User
from accounts.names import namespace_error
from hub.exceptions import BadRequest, Conflict


def namespace_check(name: str, *, kind: str) -> None:
    """The one rule for a new user or organization name: valid, not reserved, not taken."""
    if reason := namespace_error(name, kind=kind):
        raise BadRequest(reason)
    if namespace_taken(name):
        raise Conflict(f"The name {name!r} is already taken")


def namespace_taken(name: str) -> bool:
    """Users and organizations share one namespace (`ns/name` is unique across both)."""
    return (User.objects.filter(username__iexact=name).exists()
            or Organization.objects.filter(name__iexact=name).exists())


@transaction.atomic
def user_create(*, username: str, password: str, email: str = "", is_admin: bool = False) -> User:
    namespace_check(username, kind="user")
    user = User(username=username, email=email, is_staff=is_admin, is_superuser=is_admin)
    user.set_password(password)
    user.save()
    return user


def user_update_profile(*, user: User, fullname: str, email: str) -> User:
    """Change the display name and email; only those columns are written."""
    user.fullname = fullname
    user.email = email
    user.save(update_fields=["fullname", "email"])
    return user
