"""Faceted search over models and datasets (the search page and the listing pages).

Facets are OR within one facet (license mit or apache-2.0) and AND across facets (and task
text-classification). Each facet's counts are taken over the results of every *other* facet's
selection, so choosing a license still shows how many results each other license would give.
Only repositories the viewer may see are ever filtered or counted: a private repository adds to
no count. Every query is bounded: the search text, the number of chosen values and the number
of values counted per facet are capped. Counting takes one query for the facets nobody chose
and one per chosen facet.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from accounts.models import AccessToken
from accounts.permissions import Principal
from repos.cards import FACET_KINDS, PARAMETER_ORDER, SIZE_ORDER, is_facet_value
from repos.gate import repos_visible_to
from repos.models import RepoFacet, Repository, RepoType
from repos.selectors.repo_list import CARD_FIELDS, MAX_QUERY, SORTS, _with_tag

FACET_LABELS = {"task": "Tasks", "library": "Libraries", "license": "Licenses", "language": "Languages",
                "size": "Size", "parameters": "Parameters"}
# Values shown per facet (the most frequent; chosen ones are always shown too).
TOP_VALUES = 12
# Values one facet may be filtered by at once: a URL cannot make a query of unbounded size.
MAX_CHOSEN = 10
# (facet, value) count rows read per query, most frequent first.
MAX_COUNTED_ROWS = 2000
SEARCH_KINDS = (RepoType.MODEL, RepoType.DATASET)


@dataclass(frozen=True)
class FacetCount:
    value: str
    count: int
    chosen: bool


@dataclass(frozen=True)
class FacetGroup:
    kind: str
    label: str
    values: list[FacetCount]


@dataclass(frozen=True)
class SearchResult:
    repos: QuerySet[Repository]
    facets: list[FacetGroup]
    # Results per repository type under the current text and facets (the kind switch).
    kind_counts: dict[str, int]


def parse_chosen(raw: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """The chosen facet values from query parameters (`license=mit&license=apache-2.0`):
    known facets only, values no facet can hold (blank, over-long, control characters)
    dropped, at most MAX_CHOSEN per facet."""
    chosen: dict[str, list[str]] = {}
    for kind in FACET_KINDS:
        values = [v.strip() for v in raw.get(kind, ()) if is_facet_value(v.strip())]
        if values:
            chosen[kind] = list(dict.fromkeys(values))[:MAX_CHOSEN]
    return chosen


def repo_faceted_search(
    *,
    user: Principal,
    token: AccessToken | None,
    repo_types: Sequence[str] = SEARCH_KINDS,
    search: str = "",
    chosen: Mapping[str, Sequence[str]] | None = None,
    tag: str = "",
    sort: str = "updated",
    kind_counts: bool = False,
) -> SearchResult:
    """Repositories of `repo_types` visible to `user` whose `namespace/name` contains `search`,
    carrying `tag` and the `chosen` facet values, in `sort` order; with the facet counts (one
    query per facet) and, if `kind_counts`, the results per kind over all SEARCH_KINDS."""
    chosen = chosen or {}
    base = repos_visible_to(user, Repository.objects.filter(disabled=False), token=token)
    base = _text_filter(base, search)
    tag = _printable(tag)
    if tag:
        base = _with_tag(base, tag)
    by_kind = base.filter(repo_type__in=list(repo_types))

    def narrowed(qs: QuerySet[Repository], skip: str | None = None) -> QuerySet[Repository]:
        for kind, values in chosen.items():
            if kind != skip and values:
                qs = qs.filter(pk__in=RepoFacet.objects.filter(facet=kind, value__in=list(values))
                               .values("repository_id"))
        return qs

    # Facets nobody chose share one result set (every choice applies): one query counts them
    # all. A chosen facet is counted over the results of the other choices only.
    counts = _facet_counts([k for k in FACET_KINDS if not chosen.get(k)], narrowed(by_kind))
    for kind in FACET_KINDS:
        if chosen.get(kind):
            counts.update(_facet_counts([kind], narrowed(by_kind, skip=kind), chosen[kind]))
    groups = [_facet_group(kind, counts.get(kind, {}), chosen.get(kind, ())) for kind in FACET_KINDS]
    per_kind: dict[str, int] = {}
    if kind_counts:
        per_kind = {row["repo_type"]: row["n"] for row in
                    narrowed(base).filter(repo_type__in=SEARCH_KINDS).values("repo_type")
                    .annotate(n=Count("pk")).order_by()}
    repos = narrowed(by_kind).order_by(*SORTS.get(sort, SORTS["updated"])[1]).only(*CARD_FIELDS)
    return SearchResult(repos=repos, facets=groups, kind_counts=per_kind)


def _printable(text: str) -> str:
    # No name or tag holds a control character, and PostgreSQL refuses NUL in a query.
    return "".join(ch for ch in text[: MAX_QUERY * 2] if ch.isprintable()).strip()[:MAX_QUERY]


def _text_filter(qs: QuerySet[Repository], search: str) -> QuerySet[Repository]:
    search = _printable(search)
    if not search:
        return qs
    ns, slash, rest = search.partition("/")
    if slash:
        return qs.filter(namespace__icontains=ns, name__icontains=rest) if ns else qs.filter(name__icontains=rest)
    return qs.filter(Q(name__icontains=search) | Q(namespace__icontains=search))


def _facet_counts(kinds: Sequence[str], repos: QuerySet[Repository],
                  chosen: Sequence[str] = ()) -> dict[str, dict[str, int]]:
    """Repositories of `repos` per value of each facet in `kinds`: the TOP_VALUES most frequent
    values of each, plus the `chosen` ones whatever their rank."""
    if not kinds:
        return {}
    rows = (RepoFacet.objects.filter(facet__in=list(kinds), repository__in=repos.values("pk"))
            .values("facet", "value").annotate(n=Count("repository_id")).order_by("-n", "facet", "value"))
    counts: dict[str, dict[str, int]] = {kind: {} for kind in kinds}
    # Bounded: rare values past this many rows are not offered (they would not be shown).
    for row in rows[:MAX_COUNTED_ROWS]:
        values = counts[row["facet"]]
        if len(values) < TOP_VALUES:
            values[row["value"]] = row["n"]
    missing = [v for v in chosen if v not in counts[kinds[0]]]
    if missing:
        # A chosen value outside the top ones is still shown, with its own count (maybe 0).
        extra = {row["value"]: row["n"] for row in rows.filter(value__in=missing)}
        counts[kinds[0]].update({v: extra.get(v, 0) for v in missing})
    return counts


def _facet_group(kind: str, counts: dict[str, int], chosen: Sequence[str]) -> FacetGroup:
    values = [FacetCount(value=v, count=n, chosen=v in chosen) for v, n in counts.items()]
    if kind in ("size", "parameters"):
        # Sizes read best smallest first; row-count categories of datasets follow.
        rank = {label: i for i, label in enumerate(SIZE_ORDER if kind == "size" else PARAMETER_ORDER)}
        values.sort(key=lambda f: (rank.get(f.value, len(rank)), f.value))
    return FacetGroup(kind=kind, label=FACET_LABELS[kind], values=values)
