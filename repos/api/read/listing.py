"""`GET /api/models`, `/api/datasets`, `/api/spaces`: search and list visible repositories."""
from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from accounts.permissions import request_principal
from hub.exceptions import BadRequest
from hub.http.api import api_view, json_response
from hub.http.inputs import query_bool, query_int, query_list
from hub.http.pagination import decode_cursor, encode_cursor, set_next_link
from repos.api.serializers import serialize_repo_list_item
from repos.handles import git_repo_for_read
from repos.models.repository import PLURAL_TO_TYPE
from repos.selectors.repo_info import repo_sibling_paths
from repos.selectors.repo_list import MAX_PAGE_SIZE, RepoListCursor, repo_list_visible


@api_view("GET")
def repo_list_api(request: HttpRequest, plural: str) -> JsonResponse:
    user, token = request_principal(request)
    after = None
    if (cursor := decode_cursor(request)) is not None:
        value, pk = cursor.get("v"), cursor.get("id")
        if not isinstance(value, str | int) or isinstance(pk, bool) or not isinstance(pk, int):
            raise BadRequest("Invalid cursor")
        after = RepoListCursor(value=value, pk=pk)
    gated = request.GET.get("gated")
    page = repo_list_visible(
        user=user,
        token=token,
        repo_type=PLURAL_TO_TYPE[plural],
        search=query_list(request, "search"),
        author=request.GET.get("author") or None,
        tags=query_list(request, "filter"),
        sort=request.GET.get("sort") or None,
        # The Hub always sorts descending; `direction=1` is honoured for our own UI.
        ascending=request.GET.get("direction") == "1",
        gated=None if gated in (None, "") else query_bool(gated),
        pipeline_tag=request.GET.get("pipeline_tag") or None,
        after=after,
        limit=query_int(request, "limit", default=MAX_PAGE_SIZE, minimum=1, maximum=MAX_PAGE_SIZE),
    )
    full = query_bool(request.GET.get("full"))
    card_data = query_bool(request.GET.get("cardData"))
    expand = query_list(request, "expand")
    # `full=true` lists every repository's files, as the Hub does (one bounded walk each).
    with_siblings = (full and not expand) or "siblings" in expand
    items = [serialize_repo_list_item(r, full=full, card_data=card_data, expand=expand,
                                      sibling_paths=repo_sibling_paths(repo=r, git=git_repo_for_read(r))
                                      if with_siblings else None)
             for r in page.repos]
    response = json_response(items)
    cursor_token = None
    if page.next_after is not None:
        cursor_token = encode_cursor({"v": page.next_after.value, "id": page.next_after.pk})
    return set_next_link(response, request, f"/api/{plural}", cursor_token)
