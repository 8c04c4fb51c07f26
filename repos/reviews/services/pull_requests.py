"""Merging a pull request (HF `merge_pull_request`, and the merge button).

One path for every caller (API, page): under the repository lock, the merge checks are
evaluated on the refs as they are at that moment (`repos.reviews.checks`: open, no conflicts,
the repository's merge rules), the merge is computed (fast-forward when the target branch is
in the PR, else a merge commit; conflicts refuse it with the file names), the push policy
judges the move of the target branch like any other write (principal read again), the ref is
compare-and-swapped, and the PR row, its timeline, the index and the event-door announcement
(origin "merge") commit in one transaction. The PR's ref is kept; the PR is marked merged.
"""
from __future__ import annotations

from typing import Literal

from django.db import transaction
from django.utils import timezone

from accounts.models import AccessToken, User
from hub.exceptions import BadRequest, Conflict, Forbidden
from repos.events import refs_updated
from repos.git import commit as git_commit
from repos.git.merge import build_merge_commit
from repos.handles import git_repo, walk_limits
from repos.models import Discussion, Notification, Repository
from repos.policy import push as push_policy
from repos.reviews.selectors.merge_status import merge_status
from repos.reviews.services.discussions import comment_create, event_add
from repos.reviews.services.notifications import audience, notify
from repos.revisions import git_errors_as_http
from repos.services.index import repo_index_read, repo_index_write
from repos.services.locking import repo_write_lock
from repos.services.repos import author_signature

MergeMethod = Literal["auto", "fast-forward", "merge"]
METHODS = ("auto", "fast-forward", "merge")


def pull_request_merge(*, repo: Repository, pr: Discussion, user: User, token: AccessToken | None = None,
                       comment: str = "", method: MergeMethod = "auto", ip: str | None = None) -> Discussion:
    """Merge `pr` into its target branch. The caller authorized `write` access through the
    gate; the push policy checks the ref move again under the lock. Raises Conflict (409)
    when a check fails or files conflict, BadRequest for a discussion or a finished PR."""
    if not pr.is_pull_request:
        raise BadRequest(f"Discussion #{pr.num} is not a pull request")
    if method not in METHODS:
        raise BadRequest(f"Unknown merge method {method!r}: one of {', '.join(METHODS)}")
    git = git_repo(repo)
    with git_errors_as_http(), repo_write_lock(git):
        pr.refresh_from_db(fields=["status", "merge_commit", "title"])
        if pr.status == Discussion.Status.MERGED:
            raise BadRequest(f"Pull request #{pr.num} is already merged")
        status = merge_status(repo=repo, pr=pr, git=git)
        if not status.mergeable:
            reasons = "; ".join(f"{c.label}: {c.detail}" if c.detail else c.label for c in status.failing)
            raise Conflict(f"Pull request #{pr.num} cannot be merged. {reasons}")
        assert status.base is not None and status.head is not None and status.analysis is not None
        base, head, analysis = status.base, status.head, status.analysis
        base_ref = f"refs/heads/{pr.target_branch}"
        author = author_signature(user)
        if analysis.head_in_base:
            new = base  # everything is in already: the PR is merged without moving anything
        elif analysis.base_in_head and method != "merge":
            new = head
        elif method == "fast-forward":
            raise Conflict(f"Pull request #{pr.num} cannot be fast-forwarded: {pr.target_branch} moved on "
                           f"({analysis.behind} commit(s) behind). Merge with a merge commit instead.")
        else:
            message = f"Merge pull request #{pr.num} from refs/pr/{pr.num}\n\n{pr.title}"
            new = build_merge_commit(git, base=base, head=head, author=author, message=message,
                                     limits=walk_limits())
        if new != base:
            reason = push_policy.ref_update_rejection(repo=repo, user=user, token=token, ref=base_ref,
                                                      deleting=False, fast_forward=True, target_kind="commit")
            if reason is None:
                limits = walk_limits()
                reason = push_policy.tree_rejection(git.tree_stats(new, limits=limits), limits)
            if reason:
                raise Forbidden(reason)
            git_commit.update_ref(git, base_ref, new, expected_old=base, who=author,
                                  reflog_message=f"merge: pull request #{pr.num}")
        snapshot = (repo_index_read(repo=repo, git=git)
                    if new != base and pr.target_branch == repo.default_branch else None)
        with transaction.atomic():
            if snapshot is not None:
                repo_index_write(repo=repo, snapshot=snapshot)
            if comment.strip():
                comment_create(discussion=pr, author=user, text=comment, token=token)
            pr.status = Discussion.Status.MERGED
            pr.merge_commit = new
            pr.merged_base = base
            pr.merged_at = timezone.now()
            pr.merged_by = user
            pr.save(update_fields=["status", "merge_commit", "merged_base", "merged_at", "merged_by"])
            event = event_add(discussion=pr, kind="status-change", author=user,
                              data={"status": "merged", "mergeCommitId": new})
            notify(discussion=pr, event=event, actor=user, targets=audience(pr, Notification.Kind.MERGE))
            if new != base:
                refs_updated(repo=repo, changes=[(base_ref, base, new)], actor=user, origin="merge", ip=ip)
    return pr
