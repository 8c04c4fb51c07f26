"""The forms of a discussion page: each POSTs to its own URL (CSRF-protected like every form),
calls one service and goes back to the page with a message.

Refusals of the gate (hidden repository, missing rights) and of a service's own permission
check (Forbidden) answer as on every page (404 page, 403 page); a refused change that is no
permission matter (a conflict, an unmet merge rule, a bad value) becomes an error message.
"""
from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_POST

from accounts.models import AccessToken, User
from accounts.permissions import require_signed_in
from hub.exceptions import BadRequest, Conflict, Forbidden, HubError, Unprocessable
from hub.http.client import client_ip
from hub.http.pages import login_required_page
from repos.gate import Action
from repos.links import RepoLinks
from repos.models import Discussion, Repository
from repos.reviews.forms import CommentForm
from repos.reviews.services import discussions as services
from repos.reviews.services import pull_requests, reviews
from repos.views.context import load_repo

# What the gate must allow before each action's service is asked.
_ACTIONS: dict[str, Action] = {
    "comment": "discuss", "status": "discuss", "title": "discuss", "review": "discuss", "resolve": "discuss",
    "request-review": "discuss", "edit": "discuss", "hide": "discuss", "merge": "write", "pin": "write",
    "lock": "write",
}
Handler = Callable[[HttpRequest, Repository, Discussion, User, AccessToken | None], str]


def _comment(request: HttpRequest, repo: Repository, d: Discussion, user: User, token: AccessToken | None) -> str:
    form = CommentForm(request.POST)
    if not form.is_valid():
        raise BadRequest("; ".join(f"{k}: {' '.join(str(e) for e in v)}" for k, v in form.errors.items()))
    data = form.cleaned_data
    if data.get("thread"):
        thread = reviews.thread_by_id(pr=d, thread_id=data["thread"])
        reviews.thread_reply(thread=thread, author=user, text=data["comment"], token=token)
        return "Reply posted."
    if data.get("path"):
        reviews.inline_comment_create(pr=d, author=user, text=data["comment"], path=data["path"],
                                      line=data.get("line"), side=data.get("side") or "new",
                                      tensor=data.get("tensor") or "", token=token)
        return "Comment posted."
    services.comment_create(discussion=d, author=user, text=data["comment"], token=token)
    return "Comment posted."


def _status(request: HttpRequest, repo: Repository, d: Discussion, user: User, token: AccessToken | None) -> str:
    status = request.POST.get("status", "")
    services.discussion_status_change(discussion=d, user=user, status=status,
                                      comment=request.POST.get("comment", ""), token=token)
    return {"open": "Reopened." if d.status != "draft" else "Marked ready.", "closed": "Closed."}.get(status, "Done.")


def _title(request: HttpRequest, repo: Repository, d: Discussion, user: User, token: AccessToken | None) -> str:
    services.discussion_rename(discussion=d, user=user, title=request.POST.get("title", ""), token=token)
    return "Renamed."


def _merge(request: HttpRequest, repo: Repository, d: Discussion, user: User, token: AccessToken | None) -> str:
    method = request.POST.get("method") or "auto"
    pull_requests.pull_request_merge(repo=repo, pr=d, user=user, token=token, comment=request.POST.get("comment", ""),
                                     method=method if method in pull_requests.METHODS else "auto",  # type: ignore[arg-type]
                                     ip=client_ip(request))
    return f"Pull request #{d.num} merged into {d.target_branch}."


def _review(request: HttpRequest, repo: Repository, d: Discussion, user: User, token: AccessToken | None) -> str:
    reviews.review_submit(pr=d, reviewer=user, state=request.POST.get("state", ""),
                          body=request.POST.get("body", ""), token=token)
    return "Review submitted."


def _resolve(request: HttpRequest, repo: Repository, d: Discussion, user: User, token: AccessToken | None) -> str:
    thread = reviews.thread_by_id(pr=d, thread_id=request.POST.get("thread", ""))
    resolved = request.POST.get("resolved", "1") != "0"
    reviews.thread_resolve(thread=thread, user=user, resolved=resolved, token=token)
    return "Thread resolved." if resolved else "Thread reopened."


def _request_review(request: HttpRequest, repo: Repository, d: Discussion, user: User,
                    token: AccessToken | None) -> str:
    name = request.POST.get("reviewer", "").strip()
    reviews.review_request(pr=d, user=user, reviewer_name=name, token=token)
    return f"Review requested from {name}."


def _pin(request: HttpRequest, repo: Repository, d: Discussion, user: User, token: AccessToken | None) -> str:
    pinned = request.POST.get("pinned", "1") != "0"
    services.discussion_pin(discussion=d, user=user, pinned=pinned)
    return "Pinned." if pinned else "Unpinned."


def _lock(request: HttpRequest, repo: Repository, d: Discussion, user: User, token: AccessToken | None) -> str:
    locked = request.POST.get("locked", "1") != "0"
    services.discussion_lock(discussion=d, user=user, locked=locked)
    return "Locked." if locked else "Unlocked."


def _edit(request: HttpRequest, repo: Repository, d: Discussion, user: User, token: AccessToken | None) -> str:
    comment = services.comment_by_id(discussion=d, comment_id=request.POST.get("comment_id", ""))
    services.comment_edit(comment=comment, editor=user, text=request.POST.get("comment", ""))
    return "Comment edited."


def _hide(request: HttpRequest, repo: Repository, d: Discussion, user: User, token: AccessToken | None) -> str:
    comment = services.comment_by_id(discussion=d, comment_id=request.POST.get("comment_id", ""))
    services.comment_hide(comment=comment, user=user, token=token)
    return "Comment hidden."


_HANDLERS: dict[str, Handler] = {
    "comment": _comment, "status": _status, "title": _title, "merge": _merge, "review": _review,
    "resolve": _resolve, "request-review": _request_review, "pin": _pin, "lock": _lock, "edit": _edit, "hide": _hide,
}


@login_required_page
@require_POST
def discussion_action(request: HttpRequest, namespace: str, name: str, num: str, action: str,
                      prefix: str | None = None) -> HttpResponse:
    repo = load_repo(request, prefix=prefix, namespace=namespace, name=name, action=_ACTIONS[action])
    user, token = require_signed_in(request)
    d = services.discussion_by_num(repo=repo, num=num)
    back = request.POST.get("next", "")
    links = RepoLinks(repo)
    target = links.pull_request_files(d.num) if back == "files" and d.is_pull_request else links.discussion(d.num)
    try:
        messages.success(request, _HANDLERS[action](request, repo, d, user, token))
    except (BadRequest, Conflict, Unprocessable) as exc:
        messages.error(request, exc.message)
    except Forbidden:
        raise
    except HubError as exc:
        if exc.status >= 500:
            raise
        messages.error(request, exc.message)
    return HttpResponseRedirect(target)
