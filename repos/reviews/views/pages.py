"""The Community tab, new discussions, a discussion or PR's conversation, a PR's files, compares
and the notification inbox. Views parse, authorize through `repos.gate` (via `load_repo`),
call one selector or service and render."""
from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.permissions import request_principal, require_signed_in
from hub.exceptions import BadRequest, HubError
from hub.http.client import client_ip
from hub.http.pages import login_required_page
from repos.links import RepoLinks
from repos.models import Discussion
from repos.reviews.badges import pr_badges
from repos.reviews.forms import DiscussionFilterForm, NewDiscussionForm
from repos.reviews.selectors.compare import compare_range
from repos.reviews.selectors.discussions import PAGE_SIZE, discussion_page
from repos.reviews.selectors.notifications import notification_page
from repos.reviews.selectors.pages import discussion_page_data, files_page_data, pull_request_files, viewer_of
from repos.reviews.services.discussions import discussion_create
from repos.reviews.services.notifications import is_watching, notifications_mark_read, watch_set
from repos.views.context import load_repo, repo_header


def _num(num: str) -> int:
    return int(num)  # the URL pattern only takes digits


@require_safe
def community(request: HttpRequest, namespace: str, name: str, prefix: str | None = None) -> HttpResponse:
    repo = load_repo(request, prefix=prefix, namespace=namespace, name=name)
    user, token = request_principal(request)
    form = DiscussionFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    page_number = filters.get("p") or 0
    page = discussion_page(repo=repo, page=page_number, kind=filters.get("type") or None,
                           status=filters.get("status") or "open", author=filters.get("author") or None,
                           search=filters.get("search") or None, pinned_first=True)
    ctx = repo_header(request, repo, tab="community")
    viewer = viewer_of(user=user, token=token, repo=repo, discussion=None)
    ctx.update({
        "page": page, "discussions": page.discussions, "filters": form, "viewer": viewer,
        "watching": is_watching(user=user, repo=repo),
        "paginator": Paginator(range(page.count), PAGE_SIZE).get_page(page_number + 1),
        "current": {"type": filters.get("type") or "", "status": filters.get("status") or "open",
                    "search": filters.get("search") or "", "author": filters.get("author") or ""},
    })
    return render(request, "repos/reviews/community.html", ctx)


@login_required_page
@require_http_methods(["GET", "HEAD", "POST"])
def new_discussion(request: HttpRequest, namespace: str, name: str, prefix: str | None = None) -> HttpResponse:
    repo = load_repo(request, prefix=prefix, namespace=namespace, name=name, action="discuss")
    user, token = require_signed_in(request)
    form = NewDiscussionForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                created = discussion_create(repo=repo, author=user, title=form.cleaned_data["title"],
                                            description=form.cleaned_data["description"], token=token,
                                            ip=client_ip(request))
            except HubError as exc:
                form.add_error(None, exc.message)
                status = exc.status
            else:
                return HttpResponseRedirect(RepoLinks(repo).discussion(created.num))
    ctx = repo_header(request, repo, tab="community")
    ctx.update({"form": form})
    return render(request, "repos/reviews/new_discussion.html", ctx, status=status)


@require_safe
def discussion(request: HttpRequest, namespace: str, name: str, num: str, prefix: str | None = None) -> HttpResponse:
    repo = load_repo(request, prefix=prefix, namespace=namespace, name=name)
    user, token = request_principal(request)
    data = discussion_page_data(repo=repo, num=_num(num), user=user, token=token)
    if data.viewer.signed_in:
        notifications_mark_read(user=user, discussion=data.discussion)  # type: ignore[arg-type]
    ctx = repo_header(request, repo, tab="community")
    ctx.update({"d": data.discussion, "viewer": data.viewer, "items": data.items, "merge": data.status,
                "reviewers": data.reviewers, "requested": data.requested, "subtab": "conversation",
                "badges": pr_badges(data.discussion, data.status.head) if data.status is not None else [],
                "action": RepoLinks(repo).discussion(data.discussion.num)})
    return render(request, "repos/reviews/discussion.html", ctx)


@require_safe
def pull_request_files_page(request: HttpRequest, namespace: str, name: str, num: str,
                            prefix: str | None = None) -> HttpResponse:
    repo = load_repo(request, prefix=prefix, namespace=namespace, name=name)
    user, token = request_principal(request)
    data = pull_request_files(repo=repo, num=_num(num), user=user, token=token)
    ctx = repo_header(request, repo, tab="community")
    ctx.update({"d": data.discussion, "viewer": data.viewer, "data": data, "changes": data.changes,
                "subtab": "files", "action": RepoLinks(repo).discussion(_num(num)),
                "can_download": data.viewer.can_download,
                "comment_form_url": RepoLinks(repo).discussion(_num(num), "comment")
                if data.viewer.can_discuss else ""})
    return render(request, "repos/reviews/files.html", ctx)


@require_safe
def compare(request: HttpRequest, namespace: str, name: str, spec: str, prefix: str | None = None) -> HttpResponse:
    repo = load_repo(request, prefix=prefix, namespace=namespace, name=name)
    user, token = request_principal(request)
    span = compare_range(repo=repo, spec=spec)
    data = files_page_data(repo=repo, old=span.old, new=span.new, spec=spec, user=user, token=token)
    ctx = repo_header(request, repo, tab="files")
    ctx.update({"span": span, "data": data, "changes": data.changes, "can_download": data.viewer.can_download,
                "viewer": data.viewer})
    return render(request, "repos/reviews/compare.html", ctx)


@login_required_page
@require_POST
def watch(request: HttpRequest, namespace: str, name: str, prefix: str | None = None) -> HttpResponse:
    user, _token = require_signed_in(request)
    repo = load_repo(request, prefix=prefix, namespace=namespace, name=name)
    watching = request.POST.get("watching") != "0"
    watch_set(user=user, repo=repo, watching=watching)
    messages.success(request, "You watch this repository." if watching else "You no longer watch this repository.")
    return HttpResponseRedirect(RepoLinks(repo).discussions())


@login_required_page
@require_safe
def notifications(request: HttpRequest) -> HttpResponse:
    user, token = require_signed_in(request)
    try:
        page_number = max(int(request.GET.get("p", "0")), 0)
    except ValueError as exc:
        raise BadRequest("Invalid page") from exc
    page = notification_page(user=user, token=token, page=page_number)
    return render(request, "repos/reviews/notifications.html", {"page": page, "p": page_number})


@login_required_page
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    user, _token = require_signed_in(request)
    count = notifications_mark_read(user=user)
    messages.success(request, f"{count} notification{'s' if count != 1 else ''} marked read.")
    return HttpResponseRedirect("/notifications")


__all__ = ["Discussion"]
