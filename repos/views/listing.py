"""Home page, the model/dataset list pages and the search page (text, facets, tag filter, sort,
pagination)."""
from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.http import require_safe

from repos.cards import FACET_KINDS
from repos.models import RepoType
from repos.models.repository import API_PLURAL
from repos.selectors.repo_list import MAX_QUERY, SORTS, list_card, repo_search
from repos.selectors.search import SEARCH_KINDS, parse_chosen, repo_faceted_search

PER_PAGE = 30


@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    """`/favicon.ico`: pages name their icon, but feed readers, bookmarks and file views ask here."""
    return HttpResponseRedirect(static("img/logo.svg"))


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    sections = []
    for repo_type, title in ((RepoType.MODEL, "Models"), (RepoType.DATASET, "Datasets")):
        recent = list(repo_search(user=request.user, repo_type=repo_type,
                                  token=getattr(request, "auth_token", None))[:6])
        plural = API_PLURAL[repo_type]
        sections.append({"title": title, "plural": plural, "url": f"/{plural}",
                         "repos": [list_card(r) for r in recent]})
    return render(request, "repos/home.html", {"sections": sections})


def _page_number(value: str | None) -> int:
    try:
        return max(1, int(value or "1"))
    except ValueError:
        return 1


_TITLES = {RepoType.MODEL: "Models", RepoType.DATASET: "Datasets", RepoType.SPACE: "Spaces"}


@require_safe
def repo_list(request: HttpRequest, repo_type: str) -> HttpResponse:
    """`/models`, `/datasets`, `/spaces`: one kind, with the search facets."""
    plural = API_PLURAL[RepoType(repo_type)]
    return _search_page(request, repo_types=(repo_type,), path=f"/{plural}",
                        title=_TITLES[RepoType(repo_type)], kind="")


@require_safe
def search(request: HttpRequest) -> HttpResponse:
    """`/search`: the header's search box, over models and datasets at once (`type` narrows)."""
    kind = request.GET.get("type", "")
    kind = kind if kind in SEARCH_KINDS else ""
    return _search_page(request, repo_types=(kind,) if kind else SEARCH_KINDS, path="/search",
                        title="Search", kind=kind)


def _search_page(request: HttpRequest, *, repo_types: tuple[str, ...], path: str, title: str,
                 kind: str) -> HttpResponse:
    text = request.GET.get("search", "")[:MAX_QUERY]
    tag = request.GET.get("filter", "")[:MAX_QUERY]
    sort = request.GET.get("sort", "updated")
    sort = sort if sort in SORTS else "updated"
    chosen = parse_chosen({k: request.GET.getlist(k) for k in FACET_KINDS})
    result = repo_faceted_search(user=request.user, token=getattr(request, "auth_token", None),
                                 repo_types=repo_types, search=text, chosen=chosen, tag=tag, sort=sort,
                                 kind_counts=path == "/search")
    paginator = Paginator(result.repos, PER_PAGE)
    page = paginator.get_page(_page_number(request.GET.get("p")))
    state: dict[str, object] = {"search": text, "type": kind, "filter": tag, "sort": sort, **chosen}

    def url(**changes: object) -> str:
        params = {**state, **changes}
        pairs: list[tuple[str, object]] = []
        for key, value in params.items():
            if key == "sort" and value == "updated" or key == "p" and value == 1:
                continue
            for item in value if isinstance(value, list) else [value]:
                if item:
                    pairs.append((key, item))
        query = urlencode(pairs)
        return f"{path}?{query}" if query else path

    def toggled(facet_kind: str, value: str) -> str:
        values = list(chosen.get(facet_kind, []))
        values = [v for v in values if v != value] if value in values else values + [value]
        return url(**{facet_kind: values, "p": 1})

    facets = [{"kind": g.kind, "label": g.label, "clear_url": url(**{g.kind: [], "p": 1}) if g.kind in chosen else "",
               "values": [{"value": f.value, "count": f.count, "chosen": f.chosen, "url": toggled(g.kind, f.value)}
                          for f in g.values]}
              for g in result.facets if g.values]
    kinds = [{"label": "All", "count": sum(result.kind_counts.values()), "url": url(type="", p=1), "active": not kind}]
    kinds += [{"label": _TITLES[k], "count": result.kind_counts.get(k, 0), "url": url(type=k, p=1),
               "active": kind == k} for k in SEARCH_KINDS]
    ctx = {
        "title": title,
        "path": path,
        "is_search": path == "/search",
        "kind": kind,
        "kinds": kinds,
        "search": text, "tag": tag, "sort": sort,
        "sorts": [{"key": k, "label": label, "url": url(sort=k, p=1), "active": k == sort}
                  for k, (label, _) in SORTS.items()],
        "facets": facets,
        "chosen": [{"kind": k, "value": v, "url": toggled(k, v)} for k, values in chosen.items() for v in values],
        "clear_all_url": url(filter="", p=1, **{k: [] for k in FACET_KINDS}) if chosen or tag else "",
        "repos": [list_card(r) for r in page.object_list],
        "page": page, "count": paginator.count,
        "clear_tag_url": url(filter="", p=1),
        "prev_url": url(p=page.previous_page_number()) if page.has_previous() else "",
        "next_url": url(p=page.next_page_number()) if page.has_next() else "",
        "nav_query": text,
    }
    return render(request, "repos/repo_list.html", ctx)
