"""Writes on refs: branches, tags and super-squash (HF_PROTOCOL.md §4.5, §4.6).

Every ref move goes through the git layer's compare-and-swap (`update_ref`), under the repo
lock; user-supplied names are validated by `repos.git.paths` and revisions resolved by
`GitRepo.resolve`, which never hands text to git's option or revision parser. Branch and tag
writes are judged by `repos.policy.push`, as the same change made with `git push` would be
(write access, the protected default branch); names are parsed first, with the errors and
statuses of the HF API.
"""
from __future__ import annotations

from django.db import transaction

from accounts.models import AccessToken
from accounts.permissions import Principal
from hub.exceptions import BadRequest, Conflict, Forbidden, RevisionNotFound
from repos.events import Origin, refs_updated
from repos.git import commit as git_commit
from repos.git import errors as git_errors
from repos.git.objects import create_tag, delete_ref, squash_ref
from repos.git.paths import validate_branch_name, validate_tag_name
from repos.handles import git_repo
from repos.models import Repository
from repos.policy import push as push_policy
from repos.revisions import git_errors_as_http
from repos.selectors.pull_requests import PR_REF_RE
from repos.services.index import repo_index_read, repo_index_write
from repos.services.locking import repo_write_lock
from repos.services.repos import author_signature


def _branch_name(branch: str, *, missing: bool) -> str:
    try:
        return validate_branch_name(branch)
    except git_errors.InvalidRefName:
        if missing:  # deleting something that cannot exist
            raise RevisionNotFound(f"Invalid rev id: {branch}") from None
        raise BadRequest(f"Invalid reference for a branch: {branch}") from None


def _announce(*, repo: Repository, ref: str, old: str | None, new: str | None, user: Principal, ip: str | None,
              origin: Origin) -> None:
    """Announce a branch or tag change made through the API or the pages (the default branch
    never moves here: it cannot be deleted, and branch creation never names an existing branch)."""
    with transaction.atomic():
        refs_updated(repo=repo, changes=[(ref, old, new)], actor=user, origin=origin, ip=ip)


def _authorize(*, repo: Repository, user: Principal, token: AccessToken | None, ref: str, deleting: bool = False,
               target_kind: str | None = None) -> None:
    reason = push_policy.ref_update_rejection(repo=repo, user=user, token=token, ref=ref, deleting=deleting,
                                              target_kind=target_kind)
    if reason:
        raise Forbidden(reason)


def branch_create(*, repo: Repository, user: Principal, branch: str, starting_point: str | None = None,
                  token: AccessToken | None = None, ip: str | None = None, origin: Origin = "api") -> str:
    """Create branch `branch` at `starting_point` (any revision; default: the default branch).

    Returns the new branch's sha. The caller has checked `can_write` (checked again by the
    push policy, with `token`).
    """
    branch = _branch_name(branch, missing=False)
    git = git_repo(repo)
    ref = f"refs/heads/{branch}"
    with git_errors_as_http(), repo_write_lock(git):
        # Under the lock, right before the ref moves (`resolve` peels to a commit).
        _authorize(repo=repo, user=user, token=token, ref=ref, target_kind="commit")
        sha = git.resolve(starting_point or repo.default_branch)
        try:
            git_commit.update_ref(git, ref, sha, expected_old=None, reflog_message=f"branch: created from {sha}",
                                  who=author_signature(user))
        except git_errors.RefExists as exc:
            if git.refs(ref).get(ref) is not None:
                raise Conflict(f"Reference {ref} already exists") from exc
            raise Conflict(str(exc)) from exc
        _announce(repo=repo, ref=ref, old=None, new=sha, user=user, ip=ip, origin=origin)
    return sha


def branch_delete(*, repo: Repository, user: Principal, branch: str, token: AccessToken | None = None,
                  ip: str | None = None, origin: Origin = "api") -> None:
    """Delete a branch other than the default one. The caller has checked `can_write`."""
    branch = _branch_name(branch, missing=True)
    ref = f"refs/heads/{branch}"
    git = git_repo(repo)
    with git_errors_as_http(), repo_write_lock(git):
        _authorize(repo=repo, user=user, token=token, ref=ref, deleting=True)
        old = delete_ref(git, ref=ref, who=author_signature(user))
        _announce(repo=repo, ref=ref, old=old, new=None, user=user, ip=ip, origin=origin)


def tag_create(*, repo: Repository, user: Principal, revision: str, tag: str, message: str | None = None,
               token: AccessToken | None = None, ip: str | None = None, origin: Origin = "api") -> str:
    """Tag the commit `revision` resolves to; annotated when `message` is given.

    The caller has checked `can_write`. A missing revision is reported before a bad tag
    name (RevisionNotFound, as on the Hub).
    """
    git = git_repo(repo)
    with git_errors_as_http(), repo_write_lock(git):
        sha = git.resolve(revision)
        try:
            validate_tag_name(tag)
        except git_errors.InvalidRefName as exc:
            raise BadRequest(f"Invalid tag name: {tag!r}") from exc
        _authorize(repo=repo, user=user, token=token, ref=f"refs/tags/{tag}",
                   target_kind="tag" if message else "commit")
        try:
            new = create_tag(git, name=tag, target=sha, tagger=author_signature(user), message=message or None)
        except git_errors.RefExists as exc:
            raise Conflict(f"Tag {tag} already exists") from exc
        _announce(repo=repo, ref=f"refs/tags/{tag}", old=None, new=new, user=user, ip=ip, origin=origin)
        return new


def tag_delete(*, repo: Repository, user: Principal, tag: str, token: AccessToken | None = None,
               ip: str | None = None, origin: Origin = "api") -> None:
    """Delete tag `tag`. The caller has checked `can_write`."""
    try:
        validate_tag_name(tag)
    except git_errors.InvalidRefName:
        raise RevisionNotFound(f"Invalid rev id: {tag}") from None
    git = git_repo(repo)
    with git_errors_as_http(), repo_write_lock(git):
        _authorize(repo=repo, user=user, token=token, ref=f"refs/tags/{tag}", deleting=True)
        old = delete_ref(git, ref=f"refs/tags/{tag}", who=author_signature(user))
        _announce(repo=repo, ref=f"refs/tags/{tag}", old=old, new=None, user=user, ip=ip, origin=origin)


def super_squash(*, repo: Repository, user: Principal, branch: str, message: str,
                 token: AccessToken | None = None, ip: str | None = None) -> str:
    """Replace `branch` (or `refs/pr/N`) by a single commit with the same files.

    The caller has checked `can_write`; the push policy decides who may rewrite which ref
    (the default branch: admins only). Returns the new sha.
    """
    if PR_REF_RE.fullmatch(branch):
        ref = branch
    else:
        ref = f"refs/heads/{_branch_name(branch, missing=True)}"
    git = git_repo(repo)
    message = message.strip() or f"Super-squash branch '{branch}'"
    with git_errors_as_http(), repo_write_lock(git):
        # Under the lock, right before the ref moves (the principal is read again).
        if reason := push_policy.history_rewrite_rejection(repo=repo, user=user, token=token, ref=ref):
            raise Forbidden(reason)
        old = git.refs(ref).get(ref)
        sha = squash_ref(git, ref=ref, author=author_signature(user), message=message)
        default = ref == f"refs/heads/{repo.default_branch}"
        snapshot = repo_index_read(repo=repo, git=git) if default else None
        with transaction.atomic():
            if snapshot is not None:
                repo_index_write(repo=repo, snapshot=snapshot)
            refs_updated(repo=repo, changes=[(ref, old, sha)], actor=user, origin="squash", ip=ip)
    return sha
