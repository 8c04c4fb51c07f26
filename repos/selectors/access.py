"""Reads on who may access what: collaborators, access requests, audit events."""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from accounts.models import AuditEvent, User
from accounts.permissions import Principal, is_signed_in
from hub.exceptions import NotFound
from repos.models import AccessRequest, Repository, RepositoryUserObjectPermission

_PERM_ROLE = {"read_repo": "read", "write_repo": "write", "admin_repo": "admin"}
_RANK = {"read": 1, "write": 2, "admin": 3}
MAX_AUDIT_EVENTS = 10_000


@dataclass(frozen=True)
class Collaborator:
    user: User
    role: str


def collaborator_list(*, repo: Repository) -> list[Collaborator]:
    """Users granted a role on `repo` directly (highest grant per user), by username."""
    best: dict[int, Collaborator] = {}
    grants = (RepositoryUserObjectPermission.objects.filter(content_object=repo)
              .select_related("user", "permission"))
    for grant in grants:
        role = _PERM_ROLE.get(grant.permission.codename)
        if role is None:
            continue
        current = best.get(grant.user_id)
        if current is None or _RANK[role] > _RANK[current.role]:
            best[grant.user_id] = Collaborator(user=grant.user, role=role)
    return sorted(best.values(), key=lambda c: c.user.username)


def access_request_list(*, repo: Repository, status: str) -> QuerySet[AccessRequest]:
    return (AccessRequest.objects.filter(repository=repo, status=status)
            .select_related("user").order_by("-created_at", "-pk"))


def access_request_by_id(*, repo: Repository, request_id: str) -> AccessRequest:
    """An access request of `repo` by id, or NotFound."""
    access = (AccessRequest.objects.select_related("user").filter(repository=repo, pk=request_id).first()
              if request_id.isdigit() else None)
    if access is None:
        raise NotFound("Access request not found")
    return access


def access_request_of(*, repo: Repository, user: Principal) -> AccessRequest | None:
    if not is_signed_in(user):
        return None
    return AccessRequest.objects.filter(repository=repo, user=user).first()


def audit_events_for_repo(*, repo: Repository) -> QuerySet[AuditEvent]:
    return (AuditEvent.objects.filter(target=str(repo)).select_related("actor")
            .order_by("-created_at", "-pk")[:MAX_AUDIT_EVENTS])
