"""Writes on who may access a repository: collaborators and gated-access requests.

Every change is audited. The callers have authorized: `can_admin` for collaborators; write
access (the API, as on the Hub) or `can_manage` (the settings page) for deciding requests; any
signed-in reader may ask for access to a gated repository.
"""
from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.object_permissions import REPO_PERMISSIONS, object_role_remove, object_role_set
from accounts.services.audit import audit
from hub.exceptions import BadRequest, NotFound
from repos.models import AccessRequest, Repository

MAX_FIELDS = 20
MAX_FIELD_LENGTH = 1000


def collaborator_set(*, repo: Repository, user: User, role: str, actor: User,
                     ip: str | None = None) -> None:
    """Give `user` exactly `role` ("read" | "write" | "admin") on `repo`."""
    if role not in REPO_PERMISSIONS:
        raise BadRequest(f"Invalid role {role!r}: use one of {', '.join(REPO_PERMISSIONS)}")
    with transaction.atomic():
        object_role_set(user=user, obj=repo, role=role)
        audit(action="repo.collaborator.set", actor=actor, target=str(repo), ip=ip,
              user=user.username, role=role)


def collaborator_remove(*, repo: Repository, user: User, actor: User, ip: str | None = None) -> None:
    from repos.models import RepositoryUserObjectPermission

    with transaction.atomic():
        if not RepositoryUserObjectPermission.objects.filter(content_object=repo, user=user).exists():
            raise NotFound(f"{user.username} is not a collaborator of {repo.repo_id}")
        object_role_remove(user=user, obj=repo)
        audit(action="repo.collaborator.remove", actor=actor, target=str(repo), ip=ip,
              user=user.username)


def _clean_fields(fields: Any) -> dict[str, str]:
    if fields is None:
        return {}
    if not isinstance(fields, dict) or len(fields) > MAX_FIELDS:
        raise BadRequest(f"The access form must be an object of at most {MAX_FIELDS} fields")
    return {str(k)[:100]: str(v)[:MAX_FIELD_LENGTH] for k, v in fields.items()}


def access_request_create(*, repo: Repository, user: User, fields: Any = None,
                          ip: str | None = None) -> AccessRequest:
    """Ask for access to a gated repo. `auto` gating accepts at once; asking again while
    pending updates the form; an accepted or rejected request stays as decided."""
    if not repo.gated:
        raise BadRequest("This repository is not gated")
    clean = _clean_fields(fields)
    with transaction.atomic():
        access, created = AccessRequest.objects.select_for_update().get_or_create(
            repository=repo, user=user, defaults={"fields": clean})
        if not created:
            if access.status == AccessRequest.Status.PENDING and clean:
                access.fields = clean
                access.save(update_fields=["fields"])
            return access
        auto = repo.gated == Repository.Gated.AUTO
        if auto:
            access.status = AccessRequest.Status.ACCEPTED
            access.decided_at = timezone.now()
            access.save(update_fields=["status", "decided_at"])
        audit(action="repo.access_request", actor=user, target=str(repo), ip=ip,
              status=access.status, automatic=auto)
    return access


def access_request_decide(*, repo: Repository, user: User, status: str, actor: User, reason: str = "",
                          ip: str | None = None) -> AccessRequest:
    """Accept, reject or reset to pending (`cancel_access_request`) `user`'s request; 400
    when it already has that status."""
    if status not in AccessRequest.Status.values:
        raise BadRequest(f"Invalid status {status!r}")
    with transaction.atomic():
        access = AccessRequest.objects.select_for_update().filter(repository=repo, user=user).first()
        if access is None:
            raise NotFound(f"No access request from {user.username} on {repo.repo_id}")
        if access.status == status:
            # As on the Hub: deciding again what is already decided is a mistake worth
            # telling (a second reviewer, a stale page), not a silent success.
            state = "pending" if status == AccessRequest.Status.PENDING else status
            raise BadRequest(f"The access request of {user.username} on {repo.repo_id} is already {state}")
        access.status = status
        access.decided_at = None if status == AccessRequest.Status.PENDING else timezone.now()
        access.decided_by = None if status == AccessRequest.Status.PENDING else actor
        access.rejection_reason = reason[:500] if status == AccessRequest.Status.REJECTED else ""
        access.save(update_fields=["status", "decided_at", "decided_by", "rejection_reason"])
        audit(action="repo.access_request.decide", actor=actor, target=str(repo), ip=ip,
              user=user.username, status=status)
    return access


def access_request_grant(*, repo: Repository, user: User, actor: User,
                         ip: str | None = None) -> AccessRequest:
    """Accept `user` without a request of theirs (HF `grant_access`); 400 if they have access."""
    if not repo.gated:
        raise BadRequest("This repository is not gated")
    with transaction.atomic():
        access, created = AccessRequest.objects.select_for_update().get_or_create(repository=repo, user=user)
        if not created and access.status == AccessRequest.Status.ACCEPTED:
            raise BadRequest(f"{user.username} already has access to {repo.repo_id}")
        access.status = AccessRequest.Status.ACCEPTED
        access.decided_at = timezone.now()
        access.decided_by = actor
        access.rejection_reason = ""
        access.save(update_fields=["status", "decided_at", "decided_by", "rejection_reason"])
        audit(action="repo.access_request.grant", actor=actor, target=str(repo), ip=ip,
              user=user.username)
    return access
