"""HF JSON shapes of discussions and their events (HF_PROTOCOL.md §7.1, §7.2), and ours for
reviews, merge status and diffs. The only module that knows these shapes.

Keys the client requires are always present; responses are deterministic (the client compares
a re-fetch with the result of a create). Comment HTML is the Markdown sanitized like cards
(`repos.cards.render_markdown`). Hidden comments show their text to no one but their author
and the repository's admins.
"""
from __future__ import annotations

from typing import Any

from hub.http.dates import hf_date
from repos.cards import render_markdown
from repos.models import CommentEdit, Discussion, DiscussionEvent, Repository
from repos.reviews.checks import CheckResult
from repos.reviews.selectors.merge_status import MergeStatus

HIDDEN_TEXT = "This comment has been hidden"


def _author(user: Any) -> dict[str, str]:
    return {"name": user.username, "type": "user"} if user is not None else {"name": "deleted", "type": "user"}


def repo_ref(repo: Repository) -> dict[str, str]:
    return {"name": repo.repo_id, "type": repo.repo_type}


def discussion_item(d: Discussion, repo: Repository) -> dict[str, Any]:
    """One `discussions[]` item of the list."""
    item: dict[str, Any] = {
        "num": d.num, "title": d.title, "status": d.status, "isPullRequest": d.is_pull_request,
        "createdAt": hf_date(d.created_at), "repo": repo_ref(repo), "numComments": d.num_comments,
        "pinned": d.pinned,
    }
    if d.author is not None:
        item["author"] = _author(d.author)
    return item


def _version(body: str, updated_at: Any, author: Any) -> dict[str, Any]:
    return {"raw": body, "html": render_markdown(body), "updatedAt": hf_date(updated_at), "author": _author(author)}


def comment_event(event: DiscussionEvent, *, show_hidden: bool = False) -> dict[str, Any]:
    """A `comment` event; `show_hidden` for the viewers allowed to read a hidden comment."""
    edits: list[CommentEdit] = list(event.edits.all())
    updated_at = event.updated_at or event.created_at
    updated_by = event.updated_by or event.author
    if event.hidden and not show_hidden:
        latest = {"raw": "", "html": f"<p>{HIDDEN_TEXT}</p>", "updatedAt": hf_date(updated_at),
                  "author": _author(updated_by)}
        history: list[dict[str, Any]] = []
    else:
        latest = _version(event.body, updated_at, updated_by)
        history = [latest] + [_version(e.body, e.created_at, e.author) for e in reversed(edits)]
    editors = sorted({_author(e.author)["name"] for e in edits} | {_author(updated_by)["name"]})
    data: dict[str, Any] = {
        "edited": event.num_edits > 0, "hidden": event.hidden, "latest": latest, "numEdits": event.num_edits,
        "editors": editors, "reactions": [], "isReport": False, "history": history,
    }
    if event.thread_id is not None and event.thread is not None:
        thread = event.thread
        data["thread"] = {"id": thread.pk, **thread.anchor(), "resolved": thread.resolved}
    return data


def event_item(event: DiscussionEvent, *, show_hidden: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"id": event.public_id, "type": event.kind, "createdAt": hf_date(event.created_at),
                           "author": _author(event.author)}
    if event.kind == DiscussionEvent.Kind.COMMENT:
        out["data"] = comment_event(event, show_hidden=show_hidden)
    elif event.kind == DiscussionEvent.Kind.REVIEW:
        out["data"] = {**(event.data or {}), "raw": event.body, "html": render_markdown(event.body)}
    else:
        out["data"] = dict(event.data or {})
    return out


def discussion_details(d: Discussion, repo: Repository, *, events: list[DiscussionEvent],
                       show_hidden: Any, diff: str | None = None, conflicts: list[str] | bool | None = None,
                       behind: int | None = None) -> dict[str, Any]:
    """HF details. `show_hidden(event) -> bool` says who may read a hidden comment."""
    out = discussion_item(d, repo)
    out["events"] = [event_item(e, show_hidden=show_hidden(e)) for e in events]
    out["locked"] = d.locked
    if d.is_pull_request:
        out["changes"] = {"base": f"refs/heads/{d.target_branch}", "mergeCommitId": d.merge_commit or None}
        out["filesWithConflicts"] = conflicts if conflicts is not None else []
        if behind is not None:
            out["changes"]["behind"] = behind
        if diff is not None:
            out["diff"] = diff
    return out


def check_item(check: CheckResult) -> dict[str, Any]:
    return {"key": check.key, "label": check.label, "state": check.state, "detail": check.detail}


def merge_status_item(status: MergeStatus) -> dict[str, Any]:
    analysis = status.analysis
    return {
        "mergeable": status.mergeable,
        "base": status.base, "head": status.head,
        "fastForward": bool(analysis and analysis.fast_forward),
        "behind": status.behind, "ahead": analysis.ahead if analysis else 0,
        "filesWithConflicts": status.conflicts,
        "checks": [check_item(c) for c in status.checks],
        "reviews": status.reviews.latest,
        "approvals": status.reviews.approvers,
        # Approvals given before the PR's latest commits: dismissed, they no longer count.
        "staleApprovals": status.reviews.stale,
    }
