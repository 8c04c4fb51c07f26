"""Writes on discussions and pull requests: open, comment, edit and hide comments, rename,
change status, pin, lock (HF_PROTOCOL.md §7.3, §7.4).

Every write is one transaction: the row change, its timeline event and the notifications
commit together. Authorization: the API and page views establish read access and the
caller's action level through `repos.gate` (`discuss` to take part, `write` for moderation);
each service then checks the rule specific to its object (the comment's author, the
discussion's author) and raises Forbidden.

A PR's git ref exists from the moment the PR does (clients commit to `refs/pr/N` right after
creating an empty draft PR), so the row and the ref are created together, in that order,
inside one transaction: if the ref cannot be written the row is rolled back.
"""
from __future__ import annotations

from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from accounts.models import AccessToken, User
from accounts.permissions import Principal, is_signed_in
from hub.exceptions import BadRequest, Forbidden, NotFound
from repos.events import refs_updated
from repos.gate import can_admin, can_write
from repos.git import commit as git_commit
from repos.git.repository import GitRepo
from repos.handles import git_repo
from repos.models import CommentEdit, Discussion, DiscussionEvent, Notification, Repository, ReviewThread
from repos.reviews.services.notifications import audience, mention_targets, notify
from repos.revisions import git_errors_as_http
from repos.services.locking import repo_write_lock

MAX_TITLE_LENGTH = 200
MIN_TITLE_LENGTH = 3
MAX_COMMENT_LENGTH = 65_536
DEFAULT_DESCRIPTION = "{kind} opened with the hub"

Kind = DiscussionEvent.Kind


# --------------------------------------------------------------------------- helpers


def _next_num(repo: Repository) -> int:
    # The repository row lock serializes numbering on PostgreSQL; on SQLite the IMMEDIATE
    # transaction already does. Discussions and PRs share the counter (HF_PROTOCOL.md §7).
    Repository.objects.select_for_update().filter(pk=repo.pk).first()
    current = Discussion.objects.filter(repository=repo).aggregate(top=Max("num"))["top"]
    return (current or 0) + 1


def _clean_title(title: str, *, fallback: str = "") -> str:
    title = " ".join((title or "").split())[:MAX_TITLE_LENGTH]
    return title or fallback


def checked_title(title: str) -> str:
    """A title as the Hub takes it: whitespace collapsed, 3 to 200 characters (400 otherwise)."""
    title = " ".join((title or "").split())
    if not MIN_TITLE_LENGTH <= len(title) <= MAX_TITLE_LENGTH:
        raise BadRequest(f"The title must be {MIN_TITLE_LENGTH} to {MAX_TITLE_LENGTH} characters long")
    return title


def checked_comment(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise BadRequest("A comment cannot be empty")
    if len(text) > MAX_COMMENT_LENGTH:
        raise BadRequest(f"A comment can be at most {MAX_COMMENT_LENGTH} characters long")
    return text


def _user(principal: Principal | None) -> User | None:
    return principal if is_signed_in(principal) else None  # type: ignore[return-value]


def event_add(*, discussion: Discussion, kind: str, author: Principal | None, data: dict | None = None,
              body: str = "", thread: ReviewThread | None = None) -> DiscussionEvent:
    """Append one event to `discussion`'s timeline (other apps add theirs here too, e.g. job
    results: any `kind`, a JSON payload). Call inside the caller's transaction."""
    event = DiscussionEvent.objects.create(discussion=discussion, kind=kind, author=_user(author), data=data or {},
                                           body=body, thread=thread)
    if kind == Kind.COMMENT:
        Discussion.objects.filter(pk=discussion.pk).update(num_comments=F("num_comments") + 1)
    return event


def discussion_by_num(*, repo: Repository, num: int | str, for_update: bool = False) -> Discussion:
    """Discussion `num` of `repo` or NotFound (the repository itself was authorized before)."""
    try:
        number = int(num)
    except (TypeError, ValueError):
        raise NotFound("Discussion not found") from None
    qs = Discussion.objects.select_related("author", "repository")
    if for_update:
        qs = qs.select_for_update()
    found = qs.filter(repository=repo, num=number).first()
    if found is None:
        raise NotFound("Discussion not found")
    return found


def comment_by_id(*, discussion: Discussion, comment_id: str) -> DiscussionEvent:
    """The comment event whose public id (24 hex, any case) is `comment_id`, or NotFound."""
    try:
        pk = int(comment_id, 16)
    except (TypeError, ValueError):
        raise NotFound("Comment not found") from None
    found = (DiscussionEvent.objects.select_related("author")
             .filter(discussion=discussion, pk=pk, kind=Kind.COMMENT).first()) if pk < 2**63 else None
    if found is None:
        raise NotFound("Comment not found")
    return found


def _is_author(user: Principal, discussion: Discussion) -> bool:
    return is_signed_in(user) and discussion.author_id is not None and discussion.author_id == user.pk


# --------------------------------------------------------------------------- create


def pull_request_create(*, repo: Repository, author: Principal, title: str, target_branch: str,
                        head_sha: str | None = None, status: str = Discussion.Status.DRAFT,
                        description: str = "", git: GitRepo | None = None, announce: bool = True,
                        ip: str | None = None) -> Discussion:
    """Open a PR against `target_branch` with `refs/pr/N` at `head_sha` (default: the
    target branch's head), its description as the first comment. Returns the new Discussion.

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
                repository=repo, num=num, title=_clean_title(title, fallback="Pull request"),
                author=_user(author), is_pull_request=True, status=status, target_branch=target_branch,
            )
            _opening_comment(pr, author, description)
            ref = pr.git_ref
            # A ref left behind by a transaction that failed after writing it has no row (we
            # hold the numbering lock), so it is ours to overwrite.
            stale = git.refs(ref).get(ref)
            git_commit.update_ref(git, ref, head_sha, expected_old=stale,
                                  reflog_message=f"pull request #{num}")
            if announce:
                refs_updated(repo=repo, changes=[(ref, None, head_sha)], actor=author, origin="pr", ip=ip)
    return pr


def _opening_comment(discussion: Discussion, author: Principal, description: str) -> DiscussionEvent:
    kind = "Pull Request" if discussion.is_pull_request else "Discussion"
    text = (description or "").strip()[:MAX_COMMENT_LENGTH] or DEFAULT_DESCRIPTION.format(kind=kind)
    event = event_add(discussion=discussion, kind=Kind.COMMENT, author=author, body=text)
    discussion.num_comments += 1
    notify(discussion=discussion, event=event, actor=author,
           targets=[*audience(discussion, Notification.Kind.NEW), *mention_targets(discussion.repository, text)])
    return event


def discussion_create(*, repo: Repository, author: User, title: str, description: str = "",
                      pull_request: bool = False, token: AccessToken | None = None,
                      ip: str | None = None) -> Discussion:
    """Open a discussion, or (with `pull_request`) a draft PR whose `refs/pr/N` starts at the
    head of the default branch (HF_PROTOCOL.md §7.3). The caller established `discuss` access;
    a PR also needs `can_open_pull_request` (checked here)."""
    from repos.gate import can_open_pull_request

    title = checked_title(title)
    if pull_request:
        if not can_open_pull_request(author, repo, token=token):
            raise Forbidden("You don't have the rights to open a pull request on this repository")
        return pull_request_create(repo=repo, author=author, title=title, target_branch=repo.default_branch,
                                   description=description, ip=ip)
    with transaction.atomic():
        discussion = Discussion.objects.create(repository=repo, num=_next_num(repo), title=title, author=author)
        _opening_comment(discussion, author, description)
    return discussion


# --------------------------------------------------------------------------- comments


def comment_create(*, discussion: Discussion, author: User, text: str, token: AccessToken | None = None,
                   thread: ReviewThread | None = None) -> DiscussionEvent:
    """Comment on `discussion` (inline, in `thread`). Locked discussions take comments from
    writers only. The caller established `discuss` access."""
    text = checked_comment(text)
    repo = discussion.repository
    if discussion.locked and not can_write(author, repo, token=token):
        raise Forbidden("This discussion is locked: only writers of the repository can comment")
    with transaction.atomic():
        event = event_add(discussion=discussion, kind=Kind.COMMENT, author=author, body=text, thread=thread)
        targets = [*audience(discussion, Notification.Kind.COMMENT), *mention_targets(repo, text)]
        if thread is not None:
            targets += [(pk, Notification.Kind.COMMENT) for pk in
                        thread.comments.exclude(author=None).values_list("author_id", flat=True)]
        notify(discussion=discussion, event=event, actor=author, targets=targets)
    return event


def comment_edit(*, comment: DiscussionEvent, editor: User, text: str) -> DiscussionEvent:
    """Replace a comment's text, keeping the former version (HF `history`). Only its author
    may edit it, and not once it is hidden."""
    text = checked_comment(text)
    if comment.author_id is None or comment.author_id != editor.pk:
        raise Forbidden("Only the author of a comment can edit it")
    if comment.hidden:
        raise BadRequest("A hidden comment cannot be edited")
    with transaction.atomic():
        if text != comment.body:
            CommentEdit.objects.create(event=comment, body=comment.body,
                                       author_id=comment.updated_by_id or comment.author_id,
                                       created_at=comment.updated_at or comment.created_at)
            comment.body = text
            comment.num_edits += 1
            comment.updated_at = timezone.now()
            comment.updated_by = editor
            comment.save(update_fields=["body", "num_edits", "updated_at", "updated_by"])
    return comment


def comment_hide(*, comment: DiscussionEvent, user: User, token: AccessToken | None = None) -> DiscussionEvent:
    """Hide a comment (its author or a repository admin). Its text is kept but shown to no one
    else (HF: hiding is irreversible)."""
    repo = comment.discussion.repository
    if comment.author_id != user.pk and not can_admin(user, repo, token=token):
        raise Forbidden("Only the author of a comment or an admin of the repository can hide it")
    if not comment.hidden:
        comment.hidden = True
        comment.hidden_by = user
        comment.save(update_fields=["hidden", "hidden_by"])
    return comment


# --------------------------------------------------------------------------- title, status, pin, lock


def _check_moderator(discussion: Discussion, user: User, token: AccessToken | None, what: str) -> None:
    if not (_is_author(user, discussion) or can_write(user, discussion.repository, token=token)):
        raise Forbidden(f"Only the author of the discussion or a writer of the repository can {what}")


def discussion_rename(*, discussion: Discussion, user: User, title: str,
                      token: AccessToken | None = None) -> DiscussionEvent:
    title = checked_title(title)
    _check_moderator(discussion, user, token, "rename it")
    with transaction.atomic():
        old = discussion.title
        discussion.title = title
        discussion.save(update_fields=["title"])
        return event_add(discussion=discussion, kind=Kind.TITLE, author=user, data={"from": old, "to": title})


def discussion_status_change(*, discussion: Discussion, user: User, status: str, comment: str = "",
                             token: AccessToken | None = None) -> DiscussionEvent:
    """Close or (re)open a discussion or PR; opening a draft PR marks it ready. A merged PR's
    status is final. An optional comment is posted first, as on the Hub."""
    if status not in (Discussion.Status.OPEN, Discussion.Status.CLOSED):
        raise BadRequest("The status must be 'open' or 'closed'")
    _check_moderator(discussion, user, token, "change its status")
    if discussion.status == Discussion.Status.MERGED:
        raise BadRequest(f"Pull request #{discussion.num} is merged: its status cannot change")
    if discussion.status == status:
        raise BadRequest(f"{'Pull request' if discussion.is_pull_request else 'Discussion'} #{discussion.num} "
                         f"is already {status}")
    with transaction.atomic():
        if comment and comment.strip():
            comment_create(discussion=discussion, author=user, text=comment, token=token)
        discussion.status = status
        discussion.save(update_fields=["status"])
        event = event_add(discussion=discussion, kind=Kind.STATUS, author=user, data={"status": status})
        notify(discussion=discussion, event=event, actor=user, targets=audience(discussion, Notification.Kind.STATUS))
    return event


def discussion_pin(*, discussion: Discussion, user: User, pinned: bool) -> DiscussionEvent | None:
    """Pin or unpin (writers; the caller authorized `write`)."""
    if discussion.pinned == pinned:
        return None
    with transaction.atomic():
        discussion.pinned = pinned
        discussion.save(update_fields=["pinned"])
        return event_add(discussion=discussion, kind=Kind.PIN, author=user, data={"pinned": pinned})


def discussion_lock(*, discussion: Discussion, user: User, locked: bool) -> DiscussionEvent | None:
    """Lock or unlock (writers; the caller authorized `write`)."""
    if discussion.locked == locked:
        return None
    with transaction.atomic():
        discussion.locked = locked
        discussion.save(update_fields=["locked"])
        return event_add(discussion=discussion, kind=Kind.LOCK, author=user, data={"locked": locked})
