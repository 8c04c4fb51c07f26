"""`list_repo_refs` and `list_repo_commits`."""
from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from hub.http.api import api_view, json_response
from hub.http.inputs import query_bool, query_int, query_list
from hub.http.pagination import cursor_offset, encode_cursor, set_next_link
from repos.api.patterns import repo_from_api_request
from repos.api.serializers import serialize_commit, serialize_refs
from repos.handles import git_repo_for_read
from repos.revisions import git_errors_as_http
from repos.selectors.commits import COMMITS_MAX_PAGE_SIZE, COMMITS_PAGE_SIZE, commit_list
from repos.selectors.refs import refs_list


@api_view("GET")
def refs_api(request: HttpRequest, plural: str, namespace: str, name: str) -> JsonResponse:
    repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name)
    with git_errors_as_http():
        listing = refs_list(git=git_repo_for_read(repo), include_prs=query_bool(request.GET.get("include_prs")))
    return json_response(serialize_refs(listing))


@api_view("GET")
def commits_api(request: HttpRequest, plural: str, namespace: str, name: str, rev: str) -> JsonResponse:
    """Newest first, `limit` per page (50 by default), `expand[]=formatted` for HTML."""
    repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name)
    limit = query_int(request, "limit", default=COMMITS_PAGE_SIZE, minimum=1, maximum=COMMITS_MAX_PAGE_SIZE)
    offset = cursor_offset(request)
    formatted = "formatted" in query_list(request, "expand")
    git = git_repo_for_read(repo)
    with git_errors_as_http():
        sha = git.resolve(rev)
        page = commit_list(git=git, sha=sha, offset=offset, limit=limit)
    items = [serialize_commit(c, usernames=page.usernames, formatted=formatted) for c in page.commits]
    cursor = encode_cursor({"o": page.next_offset}) if page.next_offset is not None else None
    # Pinned to the resolved commit: pages stay consistent if the branch moves meanwhile.
    return set_next_link(json_response(items), request, f"/api/{plural}/{repo.repo_id}/commits/{sha}", cursor)
