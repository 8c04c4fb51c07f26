"""Writes on discussions and pull requests (minimal: opening a PR with its `refs/pr/N`).

A PR's git ref exists from the moment the PR does (clients commit to `refs/pr/N` right after
creating an empty draft PR), so the row and the ref are created together, in that order,
inside one transaction: if the ref cannot be written the row is rolled back.
"""
from __future__ import annotations

from django.db import transaction
from django.db.models import Max

from accounts.permissions import Principal, is_signed_in
from repos.events import refs_updated
from repos.git import commit as git_commit
from repos.git.repository import GitRepo
from repos.handles import git_repo
from repos.models import Discussion, Repository
from repos.revisions import git_errors_as_http
from repos.services.locking import repo_write_lock

MAX_TITLE_LENGTH = 200


def _next_num(repo: Repository) -> int:
    # The repository row lock serializes numbering on PostgreSQL; on SQLite the IMMEDIATE
    # transaction already does. Discussions and PRs share the counter (HF_PROTOCOL.md §7).
    Repository.objects.select_for_update().filter(pk=repo.pk).first()
    current = Discussion.objects.filter(repository=repo).aggregate(top=Max("num"))["top"]
    return (current or 0) + 1


def _clean_title(title: str) -> str:
    title = " ".join((title or "").split())
    return title[:MAX_TITLE_LENGTH] or "Pull request"


def pull_request_create(*, repo: Repository, author: Principal, title: str, target_branch: str,
                        head_sha: str | None = None, status: str = Discussion.Status.DRAFT,
                        git: GitRepo | None = None, announce: bool = True, ip: str | None = None) -> Discussion:
    """Open a PR against `target_branch` with `refs/pr/N` at `head_sha` (default: the
    target branch's head). Returns the new Discussion.

    The caller has checked `permissions.can_open_pull_request`. Takes the repo lock (re-entrant:
    callers that already hold it, like a commit with create_pr, keep it). The new ref is
    announced (origin "pr") unless `announce` is False: a caller that moves it again in the
    same transaction announces the whole change itself.
    """
    git = git or git_repo(repo)
    with git_errors_as_http(), repo_write_lock(git):
        if head_sha is None:
            head_sha = git.resolve(f"refs/heads/{target_branch}")
        with transaction.atomic():
            num = _next_num(repo)
            pr = Discussion.objects.create(
                repository=repo, num=num, title=_clean_title(title),
                author=author if is_signed_in(author) else None,
                is_pull_request=True, status=status, target_branch=target_branch,
            )
            ref = pr.git_ref
            # A ref left behind by a transaction that failed after writing it has no row (we
            # hold the numbering lock), so it is ours to overwrite.
            stale = git.refs(ref).get(ref)
            git_commit.update_ref(git, ref, head_sha, expected_old=stale,
                                  reflog_message=f"pull request #{num}")
            if announce:
                refs_updated(repo=repo, changes=[(ref, None, head_sha)], actor=author, origin="pr", ip=ip)
    return pr
