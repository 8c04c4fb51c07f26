"""Reads of discussions: the filtered, paginated list and one discussion with its timeline.

Query budget (bench/discussions.py): a list page is two queries (one aggregate for the counts,
one page of rows with their authors), a timeline three (the discussion, its events with their
authors and threads, the former versions of edited comments), whatever the number of comments.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet

from repos.git import errors as git_errors
from repos.git.diff import unified_diff
from repos.git.merge import merge_base
from repos.handles import git_repo_for_read
from repos.models import CommentEdit, Discussion, DiscussionEvent, Repository
from repos.reviews.selectors.merge_status import pr_refs

PAGE_SIZE = 50
MAX_SEARCH = 200
# The `diff` of a PR's details is cut past this many characters (the page has the full view).
MAX_DIFF_CHARS = 2 * 1024 * 1024

STATUS_FILTERS = {
    "open": (Discussion.Status.OPEN, Discussion.Status.DRAFT),
    "closed": (Discussion.Status.CLOSED, Discussion.Status.MERGED),
}
_CLOSED = STATUS_FILTERS["closed"]


@dataclass
class DiscussionPage:
    discussions: list[Discussion]
    count: int  # matching the filters
    start: int
    closed: int  # matching the filters other than status, closed or merged


def discussion_page(*, repo: Repository, page: int = 0, kind: str | None = None, status: str | None = None,
                    author: str | None = None, search: str | None = None, page_size: int = PAGE_SIZE,
                    pinned_first: bool = False) -> DiscussionPage:
    """One page (0-based) of `repo`'s discussions, newest first. `kind`: discussion |
    pull_request; `status`: open (drafts included) | closed (merged included) | merged | draft."""
    qs: QuerySet[Discussion] = Discussion.objects.filter(repository=repo)
    if kind == "discussion":
        qs = qs.filter(is_pull_request=False)
    elif kind == "pull_request":
        qs = qs.filter(is_pull_request=True)
    if author:
        qs = qs.filter(author__username=author)
    if search:
        qs = qs.filter(title__icontains=search[:MAX_SEARCH])
    statuses = STATUS_FILTERS.get(status or "") or ((status,) if status in Discussion.Status.values else None)
    match = Q(status__in=statuses) if statuses else Q()
    counts = qs.aggregate(count=Count("pk", filter=match), closed=Count("pk", filter=Q(status__in=_CLOSED)))
    if statuses:
        qs = qs.filter(match)
    order = ["-pinned", "-num"] if pinned_first else ["-num"]
    start = max(page, 0) * page_size
    rows = list(qs.select_related("author").order_by(*order)[start:start + page_size])
    return DiscussionPage(discussions=rows, count=counts["count"] or 0, start=start, closed=counts["closed"] or 0)


def discussion_with_events(*, repo: Repository, num: int) -> Discussion | None:
    """Discussion `num` with `timeline` (its events, authors, threads and edit history): the
    discussion comes joined to its events (every discussion has at least its opening comment;
    one without events costs one more query)."""
    events = list(DiscussionEvent.objects.filter(discussion__repository=repo, discussion__num=num)
                  .select_related("discussion__author", "discussion__merged_by", "author", "updated_by", "thread")
                  .prefetch_related(Prefetch("edits", queryset=CommentEdit.objects.select_related("author")))
                  .order_by("created_at", "id"))
    if events:
        discussion = events[0].discussion
        for event in events:
            event.discussion = discussion  # one object for all (their foreign key caches)
    else:
        found = (Discussion.objects.select_related("author", "merged_by")
                 .filter(repository=repo, num=num).first())
        if found is None:
            return None
        discussion = found
    discussion.repository = repo
    discussion.timeline = events  # type: ignore[attr-defined]
    return discussion


@dataclass(frozen=True)
class PullRequestRange:
    """What a PR changes: `old..new` (the merge base with its target, and its head)."""

    old: str | None
    new: str | None
    base: str | None  # the target branch's head (None when the branch is gone)


def pull_request_range(*, repo: Repository, pr: Discussion) -> PullRequestRange:
    git = git_repo_for_read(repo)
    base, head = pr_refs(git, pr)
    if head is None:
        return PullRequestRange(None, None, base)
    against = pr.merged_base if pr.status == Discussion.Status.MERGED and pr.merged_base else base
    if against is None:
        return PullRequestRange(None, head, base)
    try:
        old = merge_base(git, against, head)
    except git_errors.GitError:
        old = None
    return PullRequestRange(old, head, base)


def pull_request_diff(*, repo: Repository, pr: Discussion) -> str | None:
    """The PR's changes as one unified diff (HF details `diff`), cut at MAX_DIFF_CHARS; None
    when it cannot be computed (no head, unrelated histories, too many files)."""
    span = pull_request_range(repo=repo, pr=pr)
    if span.new is None or span.old is None:
        return None
    try:
        text = unified_diff(git_repo_for_read(repo), span.old, span.new)
    except git_errors.GitError:
        return None
    if len(text) > MAX_DIFF_CHARS:
        text = text[:MAX_DIFF_CHARS] + "\n[diff truncated]\n"
    return text
