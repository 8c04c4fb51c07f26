"""THE permission gate for repositories. Every surface (HTML, API, resolve, git, LFS, lists)
decides through these functions; nothing else inspects roles or visibility.

Rule of the house: without read access a repository does not exist (same 404 as a missing
one); 403 only for someone who can read but not do what they asked.
"""
from __future__ import annotations

from typing import Any, Literal

from django.db.models import Q, QuerySet

from accounts.models import AccessToken, Membership
from hub.exceptions import Forbidden, RepoNotFound
from repos.models import RepoRedirect, Repository, RepoType

Action = Literal["read", "write", "admin"]

_WRITE_ROLES = (Membership.Role.WRITE, Membership.Role.ADMIN)
_ADMIN_ROLES = (Membership.Role.ADMIN,)


def _is_authenticated(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active)


def _org_role(user: Any, repo: Repository) -> str | None:
    if repo.organization_id is None or not _is_authenticated(user):
        return None
    membership = Membership.objects.filter(organization_id=repo.organization_id, user=user).only("role").first()
    return membership.role if membership else None


def _guardian_perms(user: Any, repo: Repository) -> set[str]:
    if not _is_authenticated(user):
        return set()
    from repos.models import RepositoryUserObjectPermission

    return set(RepositoryUserObjectPermission.objects.filter(user=user, content_object=repo)
               .values_list("permission__codename", flat=True))


def _user_level(user: Any, repo: Repository) -> int:
    """0 none, 1 read, 2 write, 3 admin — from ownership, org role and collaborator grants."""
    if not _is_authenticated(user):
        return 0
    if user.is_superuser:
        return 3
    if repo.organization_id is None and repo.owner_id == user.pk:
        return 3
    level = 0
    role = _org_role(user, repo)
    if role in _ADMIN_ROLES:
        level = 3
    elif role in _WRITE_ROLES:
        level = 2
    elif role is not None:
        level = 1
    perms = _guardian_perms(user, repo)
    if "admin_repo" in perms:
        level = max(level, 3)
    elif "write_repo" in perms:
        level = max(level, 2)
    elif "read_repo" in perms:
        level = max(level, 1)
    return level


def _token_allows(token: AccessToken | None, action: Action) -> bool:
    if token is None:
        return True  # a browser session: the user's own rights
    if action == "read":
        return True
    return token.can_write


def can_read(user: Any, repo: Repository, *, token: AccessToken | None = None) -> bool:
    if not repo.private:
        return True
    return _user_level(user, repo) >= 1


def can_write(user: Any, repo: Repository, *, token: AccessToken | None = None) -> bool:
    return _token_allows(token, "write") and _user_level(user, repo) >= 2


def can_admin(user: Any, repo: Repository, *, token: AccessToken | None = None) -> bool:
    return _token_allows(token, "admin") and _user_level(user, repo) >= 3


def can_create_in_namespace(user: Any, namespace: str, *, token: AccessToken | None = None) -> bool:
    """Whether `user` may create repos under `namespace` (their own, or an org they write to)."""
    if not _is_authenticated(user) or not _token_allows(token, "write"):
        return False
    if user.is_superuser or namespace == user.username:
        return True
    return Membership.objects.filter(organization__name=namespace, user=user, role__in=_WRITE_ROLES).exists()


def creatable_namespaces(user: Any, *, token: AccessToken | None = None) -> list[str]:
    """Where `user` may create repos, for choosers: their own namespace, then the orgs they
    write to (sorted). `can_create_in_namespace` stays the check at creation time."""
    if not _is_authenticated(user) or not _token_allows(token, "write"):
        return []
    orgs = (Membership.objects.filter(user=user, role__in=_WRITE_ROLES)
            .values_list("organization__name", flat=True))
    return [user.username, *sorted(orgs)]


def can_open_pull_request(user: Any, repo: Repository, *, token: AccessToken | None = None) -> bool:
    """Readers may propose changes (HF: PRs by non-writers), but not anonymously and not
    with a read-only token (a read token never changes anything)."""
    return _is_authenticated(user) and _token_allows(token, "write") and can_read(user, repo, token=token)


def can_push_to_pull_request(user: Any, repo: Repository, *, author_id: int | None,
                             token: AccessToken | None = None) -> bool:
    """Commits on `refs/pr/N`: repo writers, or the PR's author while they can read the repo."""
    if can_write(user, repo, token=token):
        return True
    return (author_id is not None and _is_authenticated(user) and user.pk == author_id
            and can_open_pull_request(user, repo, token=token))


def repos_visible_to(user: Any, qs: QuerySet[Repository] | None = None) -> QuerySet[Repository]:
    """Every list, search and count goes through this filter."""
    qs = Repository.objects.all() if qs is None else qs
    if not _is_authenticated(user):
        return qs.filter(private=False)
    if user.is_superuser:
        return qs
    from repos.models import RepositoryUserObjectPermission

    granted = RepositoryUserObjectPermission.objects.filter(user=user).values("content_object_id")
    orgs = Membership.objects.filter(user=user).values("organization_id")
    return qs.filter(
        Q(private=False)
        | Q(owner=user, organization__isnull=True)
        | Q(organization_id__in=orgs)
        | Q(pk__in=granted)
    )


def check_access(user: Any, repo: Repository, action: Action, *, token: AccessToken | None = None) -> None:
    """Raise RepoNotFound if `user` cannot even see the repo, Forbidden if they cannot `action` it."""
    if not can_read(user, repo, token=token):
        raise RepoNotFound()
    if action == "write" and not can_write(user, repo, token=token):
        raise Forbidden("You don't have write access to this repository")
    if action == "admin" and not can_admin(user, repo, token=token):
        raise Forbidden("You don't have admin rights on this repository")


def check_file_access(user: Any, repo: Repository, *, token: AccessToken | None = None) -> None:
    """The gate on file *bytes* (resolve, raw, LFS download, clone), called after read access
    was established by `get_repo_or_404` / `check_access`.

    Hook for gated repositories (`repo.gated`): metadata stays readable, bytes will need an
    approved access request (raise `hub.exceptions.GatedRepo`). Until access requests exist,
    read access is all it takes.
    """
    return None


def get_repo_or_404(user: Any, *, repo_type: str, namespace: str, name: str, action: Action = "read",
                    token: AccessToken | None = None, follow_redirects: bool = True) -> Repository:
    """Fetch and authorize in one step; missing and hidden look the same."""
    if repo_type not in RepoType.values:
        raise RepoNotFound()
    repo = (Repository.objects.select_related("owner", "organization")
            .filter(repo_type=repo_type, namespace=namespace, name=name).first())
    if repo is None and follow_redirects:
        redirect = (RepoRedirect.objects.select_related("repository", "repository__owner",
                                                         "repository__organization")
                    .filter(repo_type=repo_type, namespace=namespace, name=name).first())
        repo = redirect.repository if redirect else None
    if repo is None:
        raise RepoNotFound()
    check_access(user, repo, action, token=token)
    return repo


def request_principal(request: Any) -> tuple[Any, AccessToken | None]:
    """(user, token) of a Django or DRF request.

    The user is evaluated here, before any lookup: a lazy session user first touched only
    when a private repo is found would add `Vary: Cookie` to exactly those responses and
    tell a hidden repository from a missing one.
    """
    raw = getattr(request, "_request", request)
    user = request.user
    _is_authenticated(user)
    return user, getattr(raw, "auth_token", None)
