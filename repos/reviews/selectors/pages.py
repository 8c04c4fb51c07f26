"""What the discussion pages show, ready-made for templates (which render, never decide):
the Community list, one discussion's timeline with the viewer's permissions per item, a pull
request's merge box, its files (text, structured and tensor diffs) with inline threads."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from accounts.models import AccessToken
from accounts.permissions import Principal, is_signed_in
from hub.exceptions import NotFound
from repos.cards import render_markdown
from repos.gate import can_admin, can_discuss, can_download, can_open_pull_request, can_write
from repos.links import RepoLinks
from repos.models import Discussion, DiscussionEvent, Repository, ReviewRequest, ReviewThread
from repos.reviews.selectors.compare import Changes, changes
from repos.reviews.selectors.discussions import discussion_with_events, pull_request_range
from repos.reviews.selectors.merge_status import MergeStatus, merge_status
from repos.reviews.services.tensor_diffs import TensorDiffView, tensor_diff_view
from repos.weights.tensor_diff_result import DIFFERING, UNCHANGED

HIDDEN_TEXT = "This comment has been hidden."
MAX_TENSOR_ROWS = 2000


@dataclass
class Viewer:
    """What the person looking at a discussion may do there."""

    signed_in: bool
    username: str
    can_discuss: bool
    can_write: bool
    can_admin: bool
    can_download: bool
    is_author: bool

    @property
    def can_moderate(self) -> bool:
        """Rename, close or reopen: the discussion's author or a writer."""
        return self.is_author or self.can_write


def viewer_of(*, user: Principal, token: AccessToken | None, repo: Repository, discussion: Discussion | None) -> Viewer:
    signed_in = is_signed_in(user)
    writer = can_write(user, repo, token=token)
    return Viewer(signed_in=signed_in, username=user.username if signed_in else "",
                  can_discuss=can_discuss(user, repo, token=token), can_write=writer,
                  can_admin=writer and can_admin(user, repo, token=token),
                  can_download=writer or can_download(user, repo, token=token),
                  is_author=bool(discussion and signed_in and discussion.author_id == user.pk))


@dataclass
class TimelineItem:
    event: DiscussionEvent
    kind: str
    author: str
    html: str = ""  # sanitized Markdown of a comment or review body
    raw: str = ""  # the Markdown, for the edit box of its author
    hidden: bool = False
    can_edit: bool = False
    can_hide: bool = False
    anchor: str = ""  # "a.py line 3", "tensor x of m.safetensors" for inline comments


def timeline_items(events: list[DiscussionEvent], viewer: Viewer, *, user_id: int | None) -> list[TimelineItem]:
    items = []
    for event in events:
        author = event.author.username if event.author is not None else "deleted"
        item = TimelineItem(event=event, kind=event.kind, author=author)
        if event.kind in (DiscussionEvent.Kind.COMMENT, DiscussionEvent.Kind.REVIEW):
            mine = user_id is not None and event.author_id == user_id
            item.hidden = event.hidden
            if event.hidden and not (mine or viewer.can_admin):
                item.html = ""
            else:
                item.html = render_markdown(event.body) if event.body else ""
                item.raw = event.body
            item.can_edit = event.kind == DiscussionEvent.Kind.COMMENT and mine and not event.hidden
            item.can_hide = (event.kind == DiscussionEvent.Kind.COMMENT and not event.hidden
                             and (mine or viewer.can_admin))
            thread = event.thread
            if thread is not None:
                item.anchor = (f"tensor {thread.tensor} of {thread.path}" if thread.tensor
                               else f"{thread.path} line {thread.line}{' (removed)' if thread.side == 'old' else ''}")
        items.append(item)
    return items


@dataclass
class DiscussionPageData:
    discussion: Discussion
    viewer: Viewer
    items: list[TimelineItem]
    status: MergeStatus | None = None
    reviewers: list[dict[str, Any]] = field(default_factory=list)
    requested: list[str] = field(default_factory=list)


def discussion_page_data(*, repo: Repository, num: int, user: Principal,
                         token: AccessToken | None) -> DiscussionPageData:
    discussion = discussion_with_events(repo=repo, num=num)
    if discussion is None:
        raise NotFound("Discussion not found")
    viewer = viewer_of(user=user, token=token, repo=repo, discussion=discussion)
    items = timeline_items(discussion.timeline, viewer,  # type: ignore[attr-defined]
                           user_id=user.pk if is_signed_in(user) else None)
    page = DiscussionPageData(discussion=discussion, viewer=viewer, items=items)
    if discussion.is_pull_request:
        page.status = merge_status(repo=repo, pr=discussion)
        stale = set(page.status.reviews.stale)
        page.reviewers = [{"name": name, "state": state, "stale": name in stale}
                          for name, state in sorted(page.status.reviews.latest.items())]
        page.requested = sorted(ReviewRequest.objects.filter(discussion=discussion)
                                .values_list("reviewer__username", flat=True))
    return page


@dataclass
class TensorSection:
    view: TensorDiffView
    rows: list[Any]  # TensorRow of differing tensors (at most MAX_TENSOR_ROWS)
    unchanged: int
    modules: list[Any]  # ModuleSummary with differences
    threads: dict[str, list[ReviewThread]]
    poll_url: str = ""


@dataclass
class FilesPageData:
    discussion: Discussion | None
    viewer: Viewer
    old: str | None
    new: str | None
    changes: Changes
    tensors: list[TensorSection]
    threads_by_path: dict[str, list[ReviewThread]]


def _threads(discussion: Discussion | None, viewer: Viewer, user_id: int | None
             ) -> tuple[dict[str, list[ReviewThread]], dict[tuple[str, str], list[ReviewThread]]]:
    """Inline threads by file path and by (checkpoint path, tensor); each with `items`, its
    comments ready to render."""
    by_path: dict[str, list[ReviewThread]] = {}
    by_tensor: dict[tuple[str, str], list[ReviewThread]] = {}
    if discussion is None:
        return by_path, by_tensor
    threads = (ReviewThread.objects.filter(discussion=discussion)
               .prefetch_related("comments__author", "comments__edits").order_by("id"))
    for thread in threads:
        comments = sorted(thread.comments.all(), key=lambda c: (c.created_at, c.pk))
        thread.items = timeline_items(comments, viewer, user_id=user_id)  # type: ignore[attr-defined]
        for item in thread.items:  # type: ignore[attr-defined]
            item.anchor = ""
        if thread.tensor:
            by_tensor.setdefault((thread.path, thread.tensor), []).append(thread)
        else:
            by_path.setdefault(thread.path, []).append(thread)
    return by_path, by_tensor


def _tensor_section(view: TensorDiffView, repo: Repository, spec: str,
                    threads: dict[tuple[str, str], list[ReviewThread]]) -> TensorSection:
    result = view.result
    rows: list[Any] = []
    unchanged = 0
    modules = []
    mine = {tensor: t for (path, tensor), t in threads.items() if path == view.pair.path}
    for row_threads in mine.values():
        for thread in row_threads:
            thread.row_name = thread.tensor  # type: ignore[attr-defined]
    if result is not None:
        for row in result.tensors:
            if row.status in DIFFERING or row.name in mine or row.status != UNCHANGED:
                if len(rows) < MAX_TENSOR_ROWS:
                    rows.append(row)
            else:
                unchanged += 1
        modules = [m for m in result.modules if m.differing and m.name.count(".") < 3][:200]
    poll = ""
    if view.state in ("queued", "running"):
        from urllib.parse import urlencode

        poll = f"/api/{repo.api_plural}/{repo.repo_id}/tensor-diff/{spec}?" + urlencode({"path": view.pair.path})
    return TensorSection(view=view, rows=rows, unchanged=unchanged, modules=modules, threads=mine, poll_url=poll)


def files_page_data(*, repo: Repository, old: str | None, new: str, spec: str, user: Principal,
                    token: AccessToken | None, discussion: Discussion | None = None) -> FilesPageData:
    """The changes from `old` to `new` (a PR's, with its inline threads, or a compare's)."""
    viewer = viewer_of(user=user, token=token, repo=repo, discussion=discussion)
    found = changes(repo=repo, old=old, new=new)
    by_path, by_tensor = _threads(discussion, viewer, user.pk if is_signed_in(user) else None)
    sections = []
    if viewer.can_download and old is not None:
        for pair in found.checkpoints:
            view = tensor_diff_view(repo=repo, old_sha=old, new_sha=new, pair=pair)
            sections.append(_tensor_section(view, repo, spec, by_tensor))
    if not viewer.can_download:
        for change in found.files:
            change.lines = []
    return FilesPageData(discussion=discussion, viewer=viewer, old=old, new=new, changes=found, tensors=sections,
                         threads_by_path=by_path)


def pull_request_files(*, repo: Repository, num: int, user: Principal, token: AccessToken | None) -> FilesPageData:
    discussion = discussion_with_events(repo=repo, num=num)
    if discussion is None or not discussion.is_pull_request:
        raise NotFound("Pull request not found")
    span = pull_request_range(repo=repo, pr=discussion)
    if span.new is None:
        raise NotFound(f"refs/pr/{num} does not exist")
    spec = f"{span.old}...{span.new}" if span.old else f"{span.new}...{span.new}"
    return files_page_data(repo=repo, old=span.old, new=span.new, spec=spec, user=user, token=token,
                           discussion=discussion)


def new_pull_request_allowed(*, user: Principal, token: AccessToken | None, repo: Repository) -> bool:
    return can_open_pull_request(user, repo, token=token)


__all__ = ["RepoLinks", "discussion_page_data", "files_page_data", "pull_request_files", "viewer_of"]
