"""Per-object grants through django-guardian (STYLE §6: guardian is imported only in accounts/).

Repositories declare `read_repo`, `write_repo` and `admin_repo`; django-guardian stores the
grants in the direct foreign-key tables of `repos.models.permissions`. A collaborator holds
exactly one of them (the highest wins when reading), so setting a role replaces the others.
"""
from __future__ import annotations

from typing import Any

from django.db import transaction
from guardian.shortcuts import assign_perm, get_perms, remove_perm

REPO_PERMISSIONS = {"read": "read_repo", "write": "write_repo", "admin": "admin_repo"}
_ROLE_BY_PERM = {v: k for k, v in REPO_PERMISSIONS.items()}
_ORDER = ("admin", "write", "read")


@transaction.atomic
def object_role_set(*, user: Any, obj: Any, role: str) -> None:
    """Give `user` exactly `role` ("read" | "write" | "admin") on `obj`."""
    wanted = REPO_PERMISSIONS[role]
    for perm in REPO_PERMISSIONS.values():
        if perm != wanted:
            remove_perm(perm, user, obj)
    assign_perm(wanted, user, obj)


@transaction.atomic
def object_role_remove(*, user: Any, obj: Any) -> None:
    for perm in REPO_PERMISSIONS.values():
        remove_perm(perm, user, obj)


def object_role(*, user: Any, obj: Any) -> str | None:
    """The highest role `user` was granted on `obj` directly, or None."""
    perms = set(get_perms(user, obj))
    for role in _ORDER:
        if REPO_PERMISSIONS[role] in perms:
            return role
    return None
