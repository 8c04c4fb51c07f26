"""Reviews of pull requests (approve, request changes, comment), review requests, inline
threads and their resolution, and the repository's merge rules.

Authorization: the caller established `discuss` access (`admin` for merge rules); the rules
specific to reviews are checked here: authors cannot approve (or block) their own PR; review
requests come from the PR's author or writers; a thread is resolved by whoever started it, the
PR's author or a writer.
"""
from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from accounts.models import AccessToken, User
from hub.exceptions import BadRequest, Forbidden, NotFound
from repos.gate import can_read, can_write
from repos.handles import git_repo_for_read
from repos.models import Discussion, DiscussionEvent, MergeRules, Notification, Repository, ReviewRequest, ReviewThread
from repos.reviews.checks import available_checks
from repos.reviews.selectors.merge_status import APPROVED, CHANGES_REQUESTED, REVIEW_STATES, pr_refs
from repos.reviews.services.discussions import MAX_COMMENT_LENGTH, checked_comment, comment_create, event_add
from repos.reviews.services.notifications import mention_targets, notify

MAX_REQUIRED_APPROVALS = 20
MAX_ANCHOR_LINE = 10_000_000


def _pull_request(discussion: Discussion) -> Discussion:
    if not discussion.is_pull_request:
        raise BadRequest(f"Discussion #{discussion.num} is not a pull request")
    return discussion


def review_submit(*, pr: Discussion, reviewer: User, state: str, body: str = "",
                  token: AccessToken | None = None) -> DiscussionEvent:
    """Record a review of the PR's current head. Authors may comment on their own PR but not
    approve it or request changes."""
    _pull_request(pr)
    if state not in REVIEW_STATES:
        raise BadRequest(f"The review state must be one of {', '.join(REVIEW_STATES)}")
    if state in (APPROVED, CHANGES_REQUESTED) and pr.author_id == reviewer.pk:
        raise Forbidden("Authors cannot approve or request changes on their own pull request")
    if pr.status not in (Discussion.Status.OPEN, Discussion.Status.DRAFT):
        raise BadRequest(f"Pull request #{pr.num} is {pr.status}: it takes no more reviews")
    body = (body or "").strip()
    if len(body) > MAX_COMMENT_LENGTH:
        raise BadRequest(f"A review can be at most {MAX_COMMENT_LENGTH} characters long")
    _base, head = pr_refs(git_repo_for_read(pr.repository), pr)
    with transaction.atomic():
        event = event_add(discussion=pr, kind=DiscussionEvent.Kind.REVIEW, author=reviewer, body=body,
                          data={"state": state, "commit": head or ""})
        ReviewRequest.objects.filter(discussion=pr, reviewer=reviewer).delete()
        targets = [(pr.author_id, Notification.Kind.REVIEW)] if pr.author_id else []
        notify(discussion=pr, event=event, actor=reviewer, targets=[*targets, *mention_targets(pr.repository, body)])
    return event


def review_request(*, pr: Discussion, user: User, reviewer_name: str,
                   token: AccessToken | None = None) -> DiscussionEvent | None:
    """Ask `reviewer` to review `pr` (by its author or a writer; the reviewer must be able to
    read the repository, and cannot be the PR's author)."""
    _pull_request(pr)
    repo = pr.repository
    if pr.author_id != user.pk and not can_write(user, repo, token=token):
        raise Forbidden("Only the author of the pull request or a writer of the repository can request reviews")
    reviewer = User.objects.filter(username=reviewer_name, is_active=True).first()
    if reviewer is None or not can_read(reviewer, repo):
        raise NotFound(f"User {reviewer_name!r} not found")  # never tell who may read a private repo
    if reviewer.pk == pr.author_id:
        raise BadRequest("The author of a pull request cannot review it")
    with transaction.atomic():
        _request, created = ReviewRequest.objects.get_or_create(discussion=pr, reviewer=reviewer,
                                                                defaults={"requested_by": user})
        if not created:
            return None
        event = event_add(discussion=pr, kind=DiscussionEvent.Kind.REVIEW_REQUEST, author=user,
                          data={"reviewer": reviewer.username})
        notify(discussion=pr, event=event, actor=user, targets=[(reviewer.pk, Notification.Kind.REVIEW_REQUEST)])
    return event


def _anchor(*, path: str, line: int | None, side: str, tensor: str) -> tuple[str, int | None, str, str]:
    path = (path or "").strip()
    if not path or len(path) > 1024:
        raise BadRequest("An inline comment needs the path of a changed file")
    tensor = (tensor or "").strip()
    if tensor:
        if len(tensor) > 1024:
            raise BadRequest("Tensor name too long")
        return path, None, "", tensor
    if line is None or not 1 <= line <= MAX_ANCHOR_LINE:
        raise BadRequest("An inline comment needs a line number (or a tensor name)")
    if side not in ("new", "old"):
        raise BadRequest("The side of a line comment is 'new' or 'old'")
    return path, line, side, ""


def inline_comment_create(*, pr: Discussion, author: User, text: str, path: str, line: int | None = None,
                          side: str = "new", tensor: str = "", token: AccessToken | None = None) -> DiscussionEvent:
    """Start a thread anchored to a line of a file's diff or to a tensor of a weight diff."""
    _pull_request(pr)
    text = checked_comment(text)
    path, line, side, tensor = _anchor(path=path, line=line, side=side, tensor=tensor)
    _base, head = pr_refs(git_repo_for_read(pr.repository), pr)
    with transaction.atomic():
        thread = ReviewThread.objects.create(discussion=pr, path=path, line=line, side=side, tensor=tensor,
                                             commit=head or "")
        return comment_create(discussion=pr, author=author, text=text, token=token, thread=thread)


def thread_by_id(*, pr: Discussion, thread_id: int | str) -> ReviewThread:
    try:
        pk = int(thread_id)
    except (TypeError, ValueError):
        raise NotFound("Thread not found") from None
    thread = ReviewThread.objects.filter(discussion=pr, pk=pk).first() if 0 < pk < 2**63 else None
    if thread is None:
        raise NotFound("Thread not found")
    return thread


def thread_reply(*, thread: ReviewThread, author: User, text: str, token: AccessToken | None = None) -> DiscussionEvent:
    return comment_create(discussion=thread.discussion, author=author, text=text, token=token, thread=thread)


def thread_resolve(*, thread: ReviewThread, user: User, resolved: bool, token: AccessToken | None = None) -> None:
    pr = thread.discussion
    starter = thread.comments.order_by("id").values_list("author_id", flat=True).first()
    if user.pk not in (starter, pr.author_id) and not can_write(user, pr.repository, token=token):
        raise Forbidden("Only the thread's author, the pull request's author or a writer can resolve a thread")
    thread.resolved = resolved
    thread.resolved_by = user if resolved else None
    thread.save(update_fields=["resolved", "resolved_by"])


def merge_rules_update(*, repo: Repository, required_approvals: int, required_checks: Iterable[str]) -> MergeRules:
    """Set the repository's merge rules (the caller authorized `admin`)."""
    if not 0 <= required_approvals <= MAX_REQUIRED_APPROVALS:
        raise BadRequest(f"Required approvals must be between 0 and {MAX_REQUIRED_APPROVALS}")
    known = available_checks()
    checks = sorted(set(required_checks))
    unknown = [c for c in checks if c not in known]
    if unknown:
        raise BadRequest(f"Unknown merge check(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    rules, _ = MergeRules.objects.update_or_create(
        repository=repo, defaults={"required_approvals": required_approvals, "required_checks": checks,
                                   "updated_at": timezone.now()})
    return rules
