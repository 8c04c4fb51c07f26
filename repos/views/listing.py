"""Home page and the model/dataset list pages (search, tag filter, sort, pagination)."""
from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from repos.models import Repository, RepoType
from repos.models.repository import API_PLURAL
from repos.selectors.repo_list import SORTS, repo_search

PER_PAGE = 30
def _card(repo: Repository) -> dict[str, object]:
    return {"repo": repo, "url": "/" + repo.url_path}


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    sections = []
    for repo_type, title in ((RepoType.MODEL, "Models"), (RepoType.DATASET, "Datasets")):
        recent = list(repo_search(user=request.user, repo_type=repo_type,
                                  token=getattr(request, "auth_token", None))[:6])
        plural = API_PLURAL[repo_type]
        sections.append({"title": title, "plural": plural, "url": f"/{plural}", "repos": [_card(r) for r in recent]})
    return render(request, "repos/home.html", {"sections": sections})


def _page_number(value: str | None) -> int:
    try:
        return max(1, int(value or "1"))
    except ValueError:
        return 1


@require_safe
def repo_list(request: HttpRequest, repo_type: str) -> HttpResponse:
    search = request.GET.get("search", "")
    tag = request.GET.get("filter", "")
    sort = request.GET.get("sort", "updated")
    sort = sort if sort in SORTS else "updated"
    qs = repo_search(user=request.user, repo_type=repo_type, search=search, tag=tag, sort=sort,
                     token=getattr(request, "auth_token", None))
    paginator = Paginator(qs, PER_PAGE)
    page = paginator.get_page(_page_number(request.GET.get("p")))
    plural = API_PLURAL[RepoType(repo_type)]

    def url(**changes: object) -> str:
        params = {"search": search, "filter": tag, "sort": sort, **changes}
        query = urlencode({k: v for k, v in params.items() if v and not (k == "sort" and v == "updated")
                           and not (k == "p" and v == 1)})
        return f"/{plural}?{query}" if query else f"/{plural}"

    ctx = {
        "title": "Models" if repo_type == RepoType.MODEL else "Datasets" if repo_type == RepoType.DATASET else "Spaces",
        "plural": plural,
        "search": search, "tag": tag, "sort": sort,
        "sorts": [{"key": k, "label": label, "url": url(sort=k, p=1), "active": k == sort}
                  for k, (label, _) in SORTS.items()],
        "repos": [_card(r) for r in page.object_list],
        "page": page, "count": paginator.count,
        "clear_tag_url": url(filter="", p=1),
        "prev_url": url(p=page.previous_page_number()) if page.has_previous() else "",
        "next_url": url(p=page.next_page_number()) if page.has_next() else "",
        "nav_query": search,
    }
    return render(request, "repos/repo_list.html", ctx)
