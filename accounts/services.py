"""Writes on accounts: users, organizations, audit events."""
from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest

from accounts.models import AuditEvent, Organization, User
from hub.exceptions import BadRequest, Conflict
from repos.git.errors import GitError
from repos.git.paths import validate_namespace

# First path segments the site itself uses: a user or organization with one of these names
# would be unreachable at `/{name}` (those routes are matched first).
RESERVED_NAMESPACES = frozenset({
    "admin", "api", "datasets", "docs", "join", "login", "logout", "models", "new", "new-dataset",
    "organizations", "password-reset", "search", "settings", "signup", "spaces", "static", "lfs-upload",
})


def namespace_check(name: str, *, kind: str) -> None:
    """The one rule for a new user or organization name: valid, not reserved, not taken."""
    try:
        validate_namespace(name)
    except GitError as exc:
        raise BadRequest(f"Invalid {kind} name: {exc}") from exc
    if name.lower() in RESERVED_NAMESPACES:
        raise BadRequest(f"{name!r} is reserved, choose another {kind} name")
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


_SECRET_KEYS = ("password", "secret", "token", "key", "authorization")


def request_ip(request: HttpRequest | None) -> str | None:
    """The client address of `request` (REMOTE_ADDR: a deployment behind a proxy sets it
    from the proxy's trusted header, never from a client-supplied one)."""
    return request.META.get("REMOTE_ADDR") if request is not None else None


def audit(*, action: str, actor: User | None = None, target: str = "",
          request: HttpRequest | None = None, ip: str | None = None, **data: object) -> AuditEvent:
    """Record one security event. Values under secret-looking keys are never stored: the
    audit log must not become a place to steal credentials from."""
    if ip is None:
        ip = request_ip(request)
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    clean = {k: v for k, v in data.items() if not any(word in k.lower() for word in _SECRET_KEYS)}
    return AuditEvent.objects.create(action=action, actor=actor, target=target, ip=ip, data=clean)
