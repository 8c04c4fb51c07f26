"""Helpers shared by the write views: principal, repo lookup and commit-target authorization."""
from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.middleware.csrf import CsrfViewMiddleware

from hub.exceptions import BadRequest, Forbidden, RepoNotFound, RevisionNotFound, Unauthorized
from repos.models import Repository
from repos.models.repository import PLURAL_TO_TYPE, URL_PREFIX, RepoType
from repos.permissions import (
    can_open_pull_request,
    can_push_to_pull_request,
    check_access,
    get_repo_or_404,
    request_principal,
)
from repos.selectors.pull_requests import PR_REF_RE, pull_request_by_ref
from repos.storage import public_url

AUTH_REQUIRED = "You must be authenticated to perform this action"


def require_user(request: Any) -> tuple[Any, Any]:
    """(user, token) of an authenticated caller; 401 for anonymous callers."""
    user, token = request_principal(request)
    if not getattr(user, "is_authenticated", False):
        raise Unauthorized(AUTH_REQUIRED)
    return user, token


def repo_from_route(request: Any, *, plural: str, namespace: str, name: str, action: str = "read") -> Repository:
    """The repository named by the URL, authorized for `action` (hidden = missing).

    Anonymous callers asking to change a repository they can see get 401, not 403.
    """
    user, token = request_principal(request)
    repo_type = PLURAL_TO_TYPE.get(plural)
    if repo_type is None:
        raise RepoNotFound()
    repo = get_repo_or_404(user, repo_type=repo_type, namespace=namespace, name=name, action="read", token=token)
    if action != "read":
        if not getattr(user, "is_authenticated", False):
            raise Unauthorized(AUTH_REQUIRED)
        check_access(user, repo, action, token=token)  # type: ignore[arg-type]
    return repo


def authorize_commit_target(request: Any, repo: Repository, *, revision: str, create_pr: bool) -> None:
    """Who may commit where (HF_PROTOCOL.md §6.2, §6.7): writers on branches; any reader
    (authenticated, with a write-capable token) when opening a PR; the PR's author or a
    writer on `refs/pr/N` of a PR that is still open."""
    user, token = request_principal(request)
    if not getattr(user, "is_authenticated", False):
        raise Unauthorized(AUTH_REQUIRED)
    if create_pr:
        if not can_open_pull_request(user, repo, token=token):
            raise Forbidden("You don't have the rights to open a pull request on this repository")
        return
    if PR_REF_RE.fullmatch(revision):
        pr = pull_request_by_ref(repo=repo, ref=revision)
        if pr is None:
            raise RevisionNotFound(f"Invalid rev id: {revision}")
        if not can_push_to_pull_request(user, repo, author_id=pr.author_id, token=token):
            raise Forbidden("Only the author of the pull request or a writer of the repository can push to it")
        if not pr.is_writable:
            raise BadRequest(f"Pull request #{pr.num} is {pr.status}: it cannot receive commits")
        return
    check_access(user, repo, "write", token=token)


def enforce_session_csrf(request: HttpRequest) -> None:
    """CSRF protection for plain (non-DRF) views that browsers could reach with a session.

    Token-authenticated requests are exempt (no ambient credentials), as are anonymous ones
    (they can change nothing); a session-authenticated POST must carry the CSRF token.
    """
    if getattr(request, "auth_token", None) is not None or not request.user.is_authenticated:
        return
    reason = CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})  # type: ignore[arg-type]
    if reason is not None:
        raise Forbidden("CSRF verification failed")


def repo_url(repo: Repository) -> str:
    return public_url(repo.url_path)


def repo_url_for(repo_type: str, namespace: str, name: str) -> str:
    return public_url(f"{URL_PREFIX[RepoType(repo_type)]}{namespace}/{name}")
