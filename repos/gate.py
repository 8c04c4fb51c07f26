"""THE permission gate for repositories. Every surface (HTML, API, resolve, git, LFS, lists)
decides through these functions; nothing else inspects roles, tokens or visibility.

Rule of the house: without read access a repository does not exist (same 404 as a missing
one); 403 only for someone who can read but not do what they asked.

What a request may do on a repository is the smaller of two levels:

* the user's level: owner / org role / collaborator grant (read < contribute < write < admin);
  org `read` reads private org repos, `contributor` also opens PRs and pushes to their own
  `refs/pr/N` (never branches), `write` writes, `admin` manages settings and members;
* the token's cap (`accounts.permissions.token_cap_where`): none for a browser session, read
  for `read` tokens, everything for `write` tokens, and for `fineGrained` tokens what their
  scopes grant on that repository - `read`, `write` (contents and settings: MANAGE) or `admin`
  - a token scoped elsewhere gets exactly what anonymous gets (public repos readable, nothing
  else).

The actions a surface asks for, and the level each needs (`ACTION_LEVEL`, the one table):

    read        READ        see the repository (public: anyone)
    contribute  CONTRIBUTE  open a pull request, push to one's own `refs/pr/N` (or write)
    write       WRITE       commits, branches, tags, merges; the access-request queue
    settings    MANAGE      visibility and gating (users: repository admins; tokens: `write`)
    admin       ADMIN       delete, rename, transfer, collaborators, audit export, and (in
                            the push policy) rewriting the default branch's history

Gated repositories: metadata is readable like any public repo; file bytes need write access
or an accepted access request (`can_download`).
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from django.db import connections, router
from django.db.models import Q, QuerySet

from accounts.models import AccessToken, Membership, TokenScope
from accounts.permissions import (
    ADMIN,
    AUTH_REQUIRED,
    CONTRIBUTE,
    MANAGE,
    NONE,
    READ,
    WRITE,
    Principal,
    is_signed_in,
    namespace_token_allows,
    request_principal,
    token_cap_where,
)
from hub.exceptions import Forbidden, GatedRepo, RepoMoved, RepoNotFound, Unauthorized
from repos.models import AccessRequest, LfsObject, RepoLfsObject, RepoRedirect, Repository, RepoType
from repos.models.repository import API_PLURAL, URL_PREFIX
from repos.selectors.repo_info import repo_get_by_id, repo_get_by_id_any_case
from repos.selectors.sql import column, quote_name

# "contribute": write, or propose changes (open a pull request, push to one's own `refs/pr/N`);
# the push policy then decides which refs such a caller may move. "discuss": take part in
# discussions (open one, comment, review): any signed-in reader whose token may act here.
# "settings": visibility and gating; "admin": destructive and privilege-changing actions (see
# the module docstring).
Action = Literal["read", "discuss", "contribute", "write", "settings", "admin"]
# How a surface wants anonymous refusals and moved repositories handled (`repo_from_request`).
Surface = Literal["api", "html", "git", "bytes"]

# THE table of what each action needs ("contribute" also lets PR authors in: see check_access).
ACTION_LEVEL: dict[Action, int] = {"read": READ, "discuss": CONTRIBUTE, "contribute": WRITE, "write": WRITE,
                                   "settings": MANAGE, "admin": ADMIN}
_REFUSAL: dict[Action, str] = {
    "contribute": "You don't have write access to this repository",
    "write": "You don't have write access to this repository",
    "settings": "You don't have the rights to change the settings of this repository",
    "admin": "You don't have admin rights on this repository",
}

# The refusal that tells a repository admin why their fine-grained token is not enough.
_NEEDS_ADMIN_SCOPE = ("This token has write access to this repository, which covers its contents and settings "
                      "but not deleting, renaming or transferring it, its collaborators, its audit log or "
                      "rewriting its history: that needs a token with admin access on it")


_ORG_ROLE_LEVEL = {
    Membership.Role.READ: READ,
    Membership.Role.CONTRIBUTOR: CONTRIBUTE,
    Membership.Role.WRITE: WRITE,
    Membership.Role.ADMIN: ADMIN,
}
_PERM_LEVEL = {"read_repo": READ, "write_repo": WRITE, "admin_repo": ADMIN}
_WRITE_ROLES = (Membership.Role.WRITE, Membership.Role.ADMIN)


def _org_role(user: Principal, repo: Repository) -> str | None:
    if repo.organization_id is None or not is_signed_in(user):
        return None
    membership = Membership.objects.filter(organization_id=repo.organization_id, user=user).only("role").first()
    return membership.role if membership else None


def _guardian_perms(user: Principal, repo: Repository) -> set[str]:
    if not is_signed_in(user):
        return set()
    from repos.models import RepositoryUserObjectPermission

    return set(RepositoryUserObjectPermission.objects.filter(user=user, content_object=repo)
               .values_list("permission__codename", flat=True))


def user_level(user: Principal, repo: Repository) -> int:
    """The user's own level on `repo` (NONE..ADMIN), whatever token they came with."""
    if not is_signed_in(user):
        return NONE
    if user.is_superuser:
        return ADMIN
    if repo.organization_id is None and repo.owner_id == user.pk:
        return ADMIN
    role = _org_role(user, repo)
    level = _ORG_ROLE_LEVEL.get(Membership.Role(role), NONE) if role else NONE
    for perm in _guardian_perms(user, repo):
        level = max(level, _PERM_LEVEL.get(perm, NONE))
    return level


def users_with_level(repo: Repository, level: int) -> set[int]:
    """Ids of the users whose own level on `repo` is at least `level` (owner, organization
    roles, collaborator grants), for "who watches by default" and "whose approval counts".
    Site superusers are not listed (they are everyone's admins, no one's collaborators)."""
    ids: set[int] = set()
    if repo.organization_id is None and repo.owner_id is not None:
        ids.add(repo.owner_id)
    if repo.organization_id is not None:
        roles = [role for role, lvl in _ORG_ROLE_LEVEL.items() if lvl >= level]
        ids.update(Membership.objects.filter(organization_id=repo.organization_id, role__in=roles)
                   .values_list("user_id", flat=True))
    from repos.models import RepositoryUserObjectPermission

    perms = [perm for perm, lvl in _PERM_LEVEL.items() if lvl >= level]
    ids.update(RepositoryUserObjectPermission.objects.filter(content_object=repo, permission__codename__in=perms)
               .values_list("user_id", flat=True))
    return ids


def _scope_matches(scope: TokenScope, *, token: AccessToken, repo: Repository) -> bool:
    if scope.repository_id is not None:
        return scope.repository_id == repo.pk
    if scope.organization_id is not None:
        return scope.organization_id == repo.organization_id
    return repo.organization_id is None and repo.owner_id == token.user_id


def token_cap(token: AccessToken | None, repo: Repository) -> int:
    """The most `token` lets its user do on `repo` (ADMIN = no limit; a fine-grained `write`
    scope gives MANAGE, only an `admin` scope gives ADMIN)."""
    if token is None:
        return ADMIN
    return token_cap_where(token, lambda scope: _scope_matches(scope, token=token, repo=repo))


def effective_level(user: Principal, repo: Repository, *, token: AccessToken | None = None) -> int:
    return min(user_level(user, repo), token_cap(token, repo))


def can_read(user: Principal, repo: Repository, *, token: AccessToken | None = None) -> bool:
    if not repo.private:
        return True
    return effective_level(user, repo, token=token) >= READ


def can_write(user: Principal, repo: Repository, *, token: AccessToken | None = None) -> bool:
    return effective_level(user, repo, token=token) >= WRITE


def can_manage(user: Principal, repo: Repository, *, token: AccessToken | None = None) -> bool:
    """Change the visibility and the gating of `repo` (the "settings" action)."""
    return effective_level(user, repo, token=token) >= MANAGE


def can_admin(user: Principal, repo: Repository, *, token: AccessToken | None = None) -> bool:
    """Delete, rename, transfer, manage collaborators, export the audit log, rewrite the
    default branch (the "admin" action): never through a fine-grained `write` scope."""
    return effective_level(user, repo, token=token) >= ADMIN


def can_download(user: Principal, repo: Repository, *, token: AccessToken | None = None) -> bool:
    """File bytes: readable and, on a gated repo, write access or an accepted request (that
    the token is allowed to use on this repo)."""
    if not can_read(user, repo, token=token):
        return False
    if not repo.gated:
        return True
    if not is_signed_in(user) or token_cap(token, repo) < READ:
        return False
    if user_level(user, repo) >= WRITE:
        return True
    return AccessRequest.objects.filter(repository=repo, user=user, status=AccessRequest.Status.ACCEPTED).exists()


def can_create_in_namespace(user: Principal, namespace: str, *, token: AccessToken | None = None) -> bool:
    """Whether `user` may create repos under `namespace` (their own, or an org they write to)."""
    if not is_signed_in(user) or not namespace_token_allows(token, user, namespace):
        return False
    if user.is_superuser or namespace == user.username:
        return True
    return Membership.objects.filter(organization__name=namespace, user=user, role__in=_WRITE_ROLES).exists()


def can_move_to(user: Principal, repo: Repository, namespace: str, *, token: AccessToken | None = None) -> bool:
    """Whether `user`, already allowed to "admin" `repo`, may move it under `namespace`: they
    may create repositories there. Their token must allow creating there too, unless the move
    stays in the repository's namespace (a rename, covered by the token's admin access to
    the repository itself)."""
    same_namespace = namespace == repo.namespace
    return can_create_in_namespace(user, namespace, token=None if same_namespace else token)


def creatable_namespaces(user: Principal, *, token: AccessToken | None = None) -> list[str]:
    """Where `user` may create repos, for choosers: their own namespace, then the orgs they
    write to (sorted). `can_create_in_namespace` stays the check at creation time."""
    if not is_signed_in(user):
        return []
    orgs = sorted(Membership.objects.filter(user=user, role__in=_WRITE_ROLES)
                  .values_list("organization__name", flat=True))
    return [ns for ns in [user.username, *orgs] if namespace_token_allows(token, user, ns)]


def can_open_pull_request(user: Principal, repo: Repository, *, token: AccessToken | None = None) -> bool:
    """Anyone signed in may propose changes to a public repo (HF); on a private one it takes
    the contributor level. Never anonymously, never with a token that cannot write here."""
    if not is_signed_in(user) or token_cap(token, repo) < CONTRIBUTE:
        return False
    if not repo.private:
        return True
    return user_level(user, repo) >= CONTRIBUTE


def can_discuss(user: Principal, repo: Repository, *, token: AccessToken | None = None) -> bool:
    """Open discussions, comment, review: signed in, able to read the repository, with a
    credential that may act on it (a read token or one scoped elsewhere only reads)."""
    if not is_signed_in(user) or token_cap(token, repo) < CONTRIBUTE:
        return False
    return can_read(user, repo, token=token)


def can_push_to_pull_request(user: Principal, repo: Repository, *, author_id: int | None,
                             token: AccessToken | None = None) -> bool:
    """Commits on `refs/pr/N`: repo writers, or the PR's author while they may open PRs."""
    if can_write(user, repo, token=token):
        return True
    return (author_id is not None and is_signed_in(user) and user.pk == author_id
            and can_open_pull_request(user, repo, token=token))


def _token_scope_filter(token: AccessToken) -> Q:
    scopes = list(token.scopes.all())
    q = Q(pk__in=[s.repository_id for s in scopes if s.repository_id is not None])
    orgs = [s.organization_id for s in scopes if s.organization_id is not None]
    if orgs:
        q |= Q(organization_id__in=orgs)
    if any(s.repository_id is None and s.organization_id is None for s in scopes):
        q |= Q(owner_id=token.user_id, organization__isnull=True)
    return q


def repos_visible_to(user: Principal, qs: QuerySet[Repository] | None = None, *,
                     token: AccessToken | None = None) -> QuerySet[Repository]:
    """Every list, search and count goes through this filter."""
    qs = Repository.objects.all() if qs is None else qs
    if not is_signed_in(user):
        return qs.filter(private=False)
    fine_grained = token is not None and token.role == AccessToken.Role.FINE_GRAINED
    if user.is_superuser:
        if not fine_grained:
            return qs
        private_ok = _token_scope_filter(token)  # type: ignore[arg-type]
    else:
        from repos.models import RepositoryUserObjectPermission

        granted = RepositoryUserObjectPermission.objects.filter(user=user).values("content_object_id")
        orgs = Membership.objects.filter(user=user).values("organization_id")
        private_ok = Q(owner=user, organization__isnull=True) | Q(organization_id__in=orgs) | Q(pk__in=granted)
        if fine_grained:
            private_ok &= _token_scope_filter(token)  # type: ignore[arg-type]
    return qs.filter(Q(private=False) | private_ok)


def check_access(user: Principal, repo: Repository, action: Action, *, token: AccessToken | None = None) -> None:
    """Raise RepoNotFound if `user` cannot even see the repo, Forbidden if they cannot `action` it."""
    if not can_read(user, repo, token=token):
        raise RepoNotFound()
    if action == "read":
        return
    if action == "discuss":
        if not can_discuss(user, repo, token=token):
            raise Forbidden("You don't have the rights to take part in discussions on this repository")
        return
    if action == "contribute" and can_open_pull_request(user, repo, token=token):
        return
    need = ACTION_LEVEL[action]
    level, cap = user_level(user, repo), token_cap(token, repo)
    if min(level, cap) >= need:
        return
    if action == "admin" and level >= ADMIN and cap >= MANAGE:
        raise Forbidden(_NEEDS_ADMIN_SCOPE)
    raise Forbidden(_REFUSAL[action])


def gated_error(user: Principal, repo: Repository) -> GatedRepo:
    """The error of a refused download on a gated repo: 401 asks to log in, 403 to ask for access."""
    from django.conf import settings

    kind = repo.repo_type
    if not is_signed_in(user):
        exc = GatedRepo(f"Access to {kind} {repo.repo_id} is restricted. You must have access to it and be "
                        "authenticated to access it. Please log in.")
        exc.status = 401
        return exc
    base = str(getattr(settings, "PUBLIC_URL", "")).rstrip("/")
    return GatedRepo(f"Access to {kind} {repo.repo_id} is restricted and you are not in the authorized list. "
                     f"Visit {base}/{repo.url_path} to ask for access.")


def check_file_access(user: Principal, repo: Repository, *, token: AccessToken | None = None) -> None:
    """The gate on file *bytes* (resolve, raw, LFS download, clone), called after read access
    was established by `get_repo_or_404` / `check_access`: raises GatedRepo on a gated repo
    the caller has no accepted access request for."""
    if not can_download(user, repo, token=token):
        if not can_read(user, repo, token=token):
            raise RepoNotFound()
        raise gated_error(user, repo)


def get_repo_or_404(user: Principal, *, repo_type: str, namespace: str, name: str, action: Action = "read",
                    token: AccessToken | None = None, follow_redirects: bool = True) -> Repository:
    """Fetch and authorize in one step; missing and hidden look the same."""
    if repo_type not in RepoType.values:
        raise RepoNotFound()
    # On every request: one query on the unique key without joins (the gate reads only
    # owner_id/organization_id), precompiled; see repo_get_by_id and bench/metadata.py.
    repo = repo_get_by_id(repo_type=repo_type, namespace=namespace, name=name)
    if repo is None and follow_redirects:
        redirect = (RepoRedirect.objects.select_related("repository", "repository__owner",
                                                         "repository__organization")
                    .filter(repo_type=repo_type, namespace=namespace, name=name).first())
        repo = redirect.repository if redirect else None
    if repo is None and follow_redirects:
        # Ids are case-insensitive, like on the Hub: another spelling reads as a moved name.
        repo = repo_get_by_id_any_case(repo_type=repo_type, namespace=namespace, name=name)
    if repo is None:
        raise RepoNotFound()
    check_access(user, repo, action, token=token)
    return repo


def repo_from_request(request: Any, *, repo_type: str | None, namespace: str, name: str, action: Action = "read",
                      surface: Surface = "api", files: bool = False) -> Repository:
    """THE request wrapper: the repository a URL names, authorized for `action` (and, with
    `files`, for its file bytes: gated repositories), for one surface.

    Hidden equals missing everywhere (RepoNotFound). What differs per surface, written here once:

    * anonymous callers refused: `api` answers 401 when the action needs more than reading (so
      clients send their token), `git` answers 401 to every refusal, hidden repositories
      included (git and git-lfs then ask their credential helper and retry), `html` and
      `bytes` answer as to anyone (the HTML views send anonymous writers to the login page
      before calling this);
    * moved repositories (an old name with a `RepoRedirect`, or the id in another letter
      case): reads (GET, HEAD) on `api`,
      `bytes` and `html` raise RepoMoved with the same URL under the current name (a relative
      307 for clients, a redirect for browsers); writes, and everything on `git`, act on the
      repository under its new name.
    """
    user, token = request_principal(request)
    signed_in = is_signed_in(user)
    try:
        if repo_type is None:
            raise RepoNotFound()
        repo = get_repo_or_404(user, repo_type=repo_type, namespace=namespace, name=name, token=token)
        moved = (repo.namespace, repo.name) != (namespace, name)
        if moved and surface != "git" and request.method in ("GET", "HEAD"):
            raise RepoMoved(headers={"Location": _moved_location(request, repo, namespace, name, surface)})
        if action != "read":
            if not signed_in and surface == "api":
                raise Unauthorized(AUTH_REQUIRED)
            check_access(user, repo, action, token=token)
        if files:
            check_file_access(user, repo, token=token)
    except (RepoNotFound, Forbidden) as exc:
        if surface == "git" and not signed_in:
            raise Unauthorized("Authentication required" if action == "read"
                               else "Authentication required to push to this repository") from exc
        raise
    return repo


def _moved_location(request: Any, repo: Repository, namespace: str, name: str, surface: Surface) -> str:
    """The request's own URL with the old repository id replaced by the current one."""
    full = request.get_full_path()
    if surface == "api":
        plural = API_PLURAL[RepoType(repo.repo_type)]
        old, new = f"/api/{plural}/{namespace}/{name}", f"/api/{plural}/{repo.repo_id}"
    else:
        old, new = f"/{URL_PREFIX[RepoType(repo.repo_type)]}{namespace}/{name}", f"/{repo.url_path}"
    return new + full[len(old):] if full.startswith(old) else new


# --------------------------------------------------------------------------- objects

_OBJECT_BATCH = 500


def object_readable(*, repo: Repository, oid: str, stored_size: int | None) -> bool:
    """THE rule on large-file bytes: `repo` may read object `oid` only if it was uploaded (or
    pushed) to `repo` - knowing a sha256 from another, private, repository gives nothing - and
    the store holds it whole (`stored_size`, told by the byte door, equals the verified size)."""
    if stored_size is None:
        return False
    return _linked_size(repo_pk=repo.pk, oid=oid) == stored_size


def linked_objects(*, repo: Repository, oids: Iterable[str]) -> dict[str, int]:
    """{oid: verified size} of the objects among `oids` linked to `repo` (the byte door checks
    the store still holds them whole: `repos.objects.readable_objects`)."""
    wanted = sorted(set(oids))
    linked: dict[str, int] = {}
    for start in range(0, len(wanted), _OBJECT_BATCH):
        rows = (RepoLfsObject.objects.filter(repository=repo, lfs_object_id__in=wanted[start:start + _OBJECT_BATCH])
                .values_list("lfs_object_id", "lfs_object__size"))
        linked.update(dict(rows))
    return linked


def _linked_size(*, repo_pk: int, oid: str) -> int | None:
    """The size recorded when `oid` was linked to the repository, or None."""
    link = linked_object(repo_pk=repo_pk, oid=oid)
    return link[0] if link is not None else None


def linked_object(*, repo_pk: int, oid: str) -> tuple[int, str | None] | None:
    """(size recorded when `oid` was linked to the repository, the Xet file hash of the same
    content when one was verified) or None when not linked: one unique-index lookup in raw
    SQL, run on every download - compiling the ORM query cost more CPU than running it
    (~0.5 ms, a fifth of a small ranged GET; bench/download.py). A repository that may read an
    object may read it through Xet as well: the Xet file was verified to be these very bytes."""
    from repos.models import XetFile

    object_column = column(RepoLfsObject, "lfs_object")
    links = quote_name(RepoLfsObject, RepoLfsObject._meta.db_table)
    stored = quote_name(LfsObject, LfsObject._meta.db_table)
    xet = quote_name(XetFile, XetFile._meta.db_table)
    sql = (f"SELECT o.{column(LfsObject, 'size')}, (SELECT x.{column(XetFile, 'file_hash')} FROM {xet} x "
           f"WHERE x.{column(XetFile, 'sha256')} = l.{object_column} LIMIT 1) FROM {links} l "
           f"JOIN {stored} o ON o.{column(LfsObject, 'oid')} = l.{object_column} "
           f"WHERE l.{column(RepoLfsObject, 'repository')} = %s AND l.{object_column} = %s LIMIT 1")
    connection = connections[router.db_for_read(RepoLfsObject)]
    with connection.cursor() as cursor:
        cursor.execute(sql, [repo_pk, oid])
        row = cursor.fetchone()
    return (int(row[0]), row[1]) if row is not None else None
