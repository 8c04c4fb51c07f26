"""Home page and the model/dataset list pages (search, tag filter, sort, pagination)."""
from __future__ import annotations

import json
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from repos.gate import repos_visible_to
from repos.models import Repository, RepoType
from repos.models.repository import API_PLURAL

PER_PAGE = 30
MAX_QUERY = 200
SORTS = {
    "updated": ("Recently updated", ("-last_modified", "-pk")),
    "created": ("Recently created", ("-created_at", "-pk")),
    "downloads": ("Most downloads", ("-downloads", "-last_modified")),
    "likes": ("Most likes", ("-likes", "-last_modified")),
    "name": ("Name", ("namespace", "name")),
}
# Only what a list card shows is loaded.
_CARD_FIELDS = ("repo_type", "namespace", "name", "private", "pipeline_tag", "library_name",
                "last_modified", "downloads", "likes", "gated")


def repo_search(*, user: object, repo_type: str, search: str = "", tag: str = "", sort: str = "updated",
                token: object = None) -> QuerySet[Repository]:
    """Repositories of `repo_type` visible to `user`, matching `search` (substring of
    `namespace/name`) and carrying `tag`, in the order `sort` names."""
    qs = repos_visible_to(user, Repository.objects.filter(repo_type=repo_type, disabled=False),
                          token=token)  # type: ignore[arg-type]
    search = search.strip()[:MAX_QUERY]
    if search:
        ns, slash, rest = search.partition("/")
        if slash:
            qs = qs.filter(namespace__icontains=ns, name__icontains=rest) if ns else qs.filter(name__icontains=rest)
        else:
            qs = qs.filter(Q(name__icontains=search) | Q(namespace__icontains=search))
    tag = tag.strip()[:MAX_QUERY]
    if tag:
        if connection.features.supports_json_field_contains:
            qs = qs.filter(tags__contains=[tag])
        else:
            # SQLite: match the tag as a complete JSON string inside the stored list
            # (json.dumps escapes it exactly like the column's own serialization).
            qs = qs.filter(tags__icontains=json.dumps(tag))
    return qs.order_by(*SORTS.get(sort, SORTS["updated"])[1]).only(*_CARD_FIELDS)


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
