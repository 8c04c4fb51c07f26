"""The Community tab: the repository's discussions and pull requests (read-only list)."""
from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from repos.selectors.pull_requests import discussion_list
from repos.views.context import load_repo, repo_header

PER_PAGE = 50


@require_safe
def discussions(request: HttpRequest, namespace: str, name: str, prefix: str | None = None) -> HttpResponse:
    repo = load_repo(request, prefix=prefix, namespace=namespace, name=name)
    page = Paginator(discussion_list(repo=repo), PER_PAGE).get_page(request.GET.get("p"))
    ctx = repo_header(request, repo, tab="community")
    ctx.update({"page": page, "discussions": page.object_list})
    return render(request, "repos/discussions.html", ctx)
