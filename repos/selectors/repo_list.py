"""Repository search and listing (`GET /api/models|datasets|spaces`), keyset-paginated."""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import CharField, Q, QuerySet, Value
from django.db.models.functions import Concat

from accounts.models import AccessToken
from accounts.permissions import Principal
from hub.exceptions import BadRequest
from repos.gate import repos_visible_to
from repos.models import Repository, RepoType

# HF sort keys -> columns. Trending has no meaning here yet; likes are the closest signal.
SORT_FIELDS = {
    "lastModified": "last_modified",
    "createdAt": "created_at",
    "downloads": "downloads",
    "likes": "likes",
    "trendingScore": "likes",
}
DEFAULT_SORT = "lastModified"
MAX_PAGE_SIZE = 1000
_DATE_FIELDS = {"last_modified", "created_at"}


@dataclass(frozen=True)
class RepoListCursor:
    """The last row of a page: its sort value (JSON-friendly) and primary key."""

    value: str | int
    pk: int


@dataclass(frozen=True)
class RepoListPage:
    repos: list[Repository]
    next_after: RepoListCursor | None


def repo_list_visible(
    *,
    user: Principal,
    repo_type: str,
    token: AccessToken | None = None,
    search: Sequence[str] = (),
    author: str | None = None,
    tags: Sequence[str] = (),
    sort: str | None = None,
    ascending: bool = False,
    gated: bool | None = None,
    pipeline_tag: str | None = None,
    after: RepoListCursor | None = None,
    limit: int = MAX_PAGE_SIZE,
) -> RepoListPage:
    """Repositories of `repo_type` that `user` may see, filtered, one page after `after`.

    Every search term must be a substring of `ns/name` (case-insensitive); every tag must be in
    the repository's tags. Keyset pagination on (sort column, pk) keeps pages stable and cheap
    however deep the client goes.
    """
    field = SORT_FIELDS.get(sort or DEFAULT_SORT)
    if field is None:
        raise BadRequest(f"Invalid sort {sort!r}: use one of {', '.join(SORT_FIELDS)}")
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    qs = repos_visible_to(user, Repository.objects.filter(repo_type=repo_type), token=token)
    terms = [t for t in search if t]
    if terms:
        qs = qs.annotate(_full_id=Concat("namespace", Value("/"), "name", output_field=CharField()))
        for term in terms:
            qs = qs.filter(_full_id__icontains=term)
    if author:
        qs = qs.filter(namespace=author)
    for tag in tags:
        if tag:
            qs = _with_tag(qs, tag)
    if gated is not None:
        qs = qs.exclude(gated="") if gated else qs.filter(gated="")
    if pipeline_tag:
        qs = qs.filter(pipeline_tag=pipeline_tag)
    if after is not None:
        value = _parse_value(field, after.value)
        if ascending:
            qs = qs.filter(Q(**{f"{field}__gt": value}) | Q(**{field: value, "pk__gt": after.pk}))
        else:
            qs = qs.filter(Q(**{f"{field}__lt": value}) | Q(**{field: value, "pk__lt": after.pk}))
    order = (field, "pk") if ascending else (f"-{field}", "-pk")
    rows = list(qs.order_by(*order)[: limit + 1])
    next_after = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_after = RepoListCursor(value=_json_value(getattr(last, field)), pk=last.pk)
    return RepoListPage(repos=rows, next_after=next_after)


def _with_tag(qs: QuerySet[Repository], tag: str) -> QuerySet[Repository]:
    if connection.features.supports_json_field_contains:
        return qs.filter(tags__contains=[tag])
    # SQLite has no JSON containment: match the JSON-encoded string, quotes included, in the
    # stored array text (Django stores it with json.dumps, hence the same escaping).
    return qs.filter(tags__icontains=json.dumps(tag))


def _json_value(value: Any) -> str | int:
    return value.isoformat() if isinstance(value, datetime) else int(value)


def _parse_value(field: str, raw: str | int) -> Any:
    try:
        if field in _DATE_FIELDS:
            if not isinstance(raw, str):
                raise ValueError(raw)
            return datetime.fromisoformat(raw)
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ValueError(raw)
        return raw
    except ValueError:
        raise BadRequest("Invalid cursor") from None


# ----------------------------------------------------------------------------- HTML listings

MAX_QUERY = 200
SORTS = {
    "updated": ("Recently updated", ("-last_modified", "-pk")),
    "created": ("Recently created", ("-created_at", "-pk")),
    "downloads": ("Most downloads", ("-downloads", "-last_modified")),
    "likes": ("Most likes", ("-likes", "-last_modified")),
    "name": ("Name", ("namespace", "name")),
}
# Only what a list card shows is loaded (`list_card`; the search page too).
CARD_FIELDS = ("repo_type", "namespace", "name", "private", "pipeline_tag", "library_name",
                "last_modified", "downloads", "likes", "gated", "safetensors")


def parameter_count(repo: Repository) -> int:
    """The safetensors parameter count the analysis task indexed (0 when unknown)."""
    total = repo.safetensors.get("total") if isinstance(repo.safetensors, dict) else None
    return total if isinstance(total, int) and total > 0 else 0


def list_card(repo: Repository) -> dict[str, Any]:
    """What a listing card shows of `repo` (loaded with `CARD_FIELDS`): the template formats
    the counts (downloads, likes, parameters) the same way everywhere."""
    return {"repo": repo, "url": "/" + repo.url_path, "parameters": parameter_count(repo)}


def repo_search(*, user: Principal, repo_type: str, search: str = "", tag: str = "", sort: str = "updated",
                token: AccessToken | None = None) -> QuerySet[Repository]:
    """Repositories of `repo_type` visible to `user`, matching `search` (substring of
    `namespace/name`) and carrying `tag`, in the order `sort` names."""
    qs = repos_visible_to(user, Repository.objects.filter(repo_type=repo_type, disabled=False),
                          token=token)
    search = search.strip()[:MAX_QUERY]
    if search:
        ns, slash, rest = search.partition("/")
        if slash:
            qs = qs.filter(namespace__icontains=ns, name__icontains=rest) if ns else qs.filter(name__icontains=rest)
        else:
            qs = qs.filter(Q(name__icontains=search) | Q(namespace__icontains=search))
    tag = tag.strip()[:MAX_QUERY]
    if tag:
        qs = _with_tag(qs, tag)
    return qs.order_by(*SORTS.get(sort, SORTS["updated"])[1]).only(*CARD_FIELDS)


PER_SECTION = 100


def namespace_sections(*, viewer: Principal, token: AccessToken | None, namespace: str) -> list[dict[str, Any]]:
    """The models and datasets under `namespace` that `viewer` may see, newest first, with
    their counts (a profile page)."""
    visible = repos_visible_to(viewer, Repository.objects.filter(namespace=namespace, disabled=False), token=token)
    sections = []
    for repo_type, title in ((RepoType.MODEL, "Models"), (RepoType.DATASET, "Datasets")):
        qs = visible.filter(repo_type=repo_type)
        repos = list(qs.order_by("-last_modified", "-pk").only(*CARD_FIELDS)[:PER_SECTION])
        sections.append({"title": title, "count": qs.count(),
                         "repos": [list_card(r) for r in repos]})
    return sections
