"""`list_repo_tree` and `get_paths_info`."""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.http import HttpRequest, JsonResponse

from hub.exceptions import BadRequest
from hub.http.api import api_view, json_response
from hub.http.inputs import query_bool
from hub.http.json_body import parse_json
from hub.http.pagination import cursor_offset, decode_cursor, encode_cursor, set_next_link
from repos.api.patterns import repo_from_api_request
from repos.api.serializers import serialize_tree_entry
from repos.file_security import file_security_statuses
from repos.handles import git_repo_for_read
from repos.models import Repository
from repos.revisions import git_errors_as_http, split_revision_path
from repos.selectors.files import RepoEntry, entries_for_paths
from repos.selectors.tree import tree_list
from repos.selectors.xet import xet_hashes_for

MAX_PATHS = 1000


@api_view("GET")
def tree_api(request: HttpRequest, plural: str, namespace: str, name: str, remainder: str) -> JsonResponse:
    """`GET /api/{type}s/{id}/tree/{rev}[/{path}]?recursive=&expand=`, paginated."""
    repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name)
    git = git_repo_for_read(repo)
    recursive = query_bool(request.GET.get("recursive"))
    expand = query_bool(request.GET.get("expand"))
    offset, after = _tree_cursor(request)
    with git_errors_as_http():
        rev, path = split_revision_path(git, remainder)
        sha = git.resolve(rev)
        page = tree_list(git=git, sha=sha, path=path, recursive=recursive, expand=expand, offset=offset,
                         after=after)
    xet = xet_hashes_for(repo=repo, oids=[e.lfs.oid for e in page.entries if e.lfs is not None])
    security = _security(repo, page.entries) if expand else None
    response = json_response([serialize_tree_entry(e, xet_hashes=xet, security=security) for e in page.entries])
    # Later pages are pinned to the commit of the first one, so a branch moving in between
    # cannot mix two trees in one listing.
    next_path = f"/api/{plural}/{repo.repo_id}/tree/{sha}" + (f"/{quote(path, safe='')}" if path else "")
    cursor = None
    if page.next_after is not None:
        cursor = encode_cursor({"a": page.next_after})
    elif page.next_offset is not None:
        cursor = encode_cursor({"o": page.next_offset})
    return set_next_link(response, request, next_path, cursor)


def _tree_cursor(request: HttpRequest) -> tuple[int, str | None]:
    """(offset, after path) of a tree page's cursor: `{"o": n}` or `{"a": "last/path"}`."""
    data = decode_cursor(request)
    if data is None:
        return 0, None
    after = data.get("a")
    if after is not None:
        if not isinstance(after, str) or not after or len(after) > 4096:
            raise BadRequest("Invalid cursor")
        return 0, after
    return cursor_offset(request), None


@api_view("POST")
def paths_info_api(request: HttpRequest, plural: str, namespace: str, name: str, rev: str) -> JsonResponse:
    """`POST /api/{type}s/{id}/paths-info/{rev}`: form (`paths=a&paths=b&expand=`) or JSON
    (`{"paths": [...], "expand": bool}`); entries of existing paths in request order."""
    repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name)
    paths, expand = _paths_request(request)
    git = git_repo_for_read(repo)
    with git_errors_as_http():
        sha = git.resolve(rev)
        entries = entries_for_paths(git, sha=sha, paths=paths, expand=expand)
    xet = xet_hashes_for(repo=repo, oids=[e.lfs.oid for e in entries if e.lfs is not None])
    security = _security(repo, entries) if expand else None
    return json_response([serialize_tree_entry(e, xet_hashes=xet, security=security) for e in entries])


def _security(repo: Repository, entries: list[RepoEntry]) -> dict[str, dict[str, Any]]:
    """`securityFileStatus` per file path (`expand=true` only, as on the Hub)."""
    return file_security_statuses(repo, [(e.path, e.etag) for e in entries if e.type == "file"])


def _paths_request(request: HttpRequest) -> tuple[list[str], bool]:
    if request.content_type == "application/json":
        body = parse_json(request.body or b"{}")
        if not isinstance(body, dict):
            raise BadRequest("Expected a JSON object with `paths`")
        paths = body.get("paths", [])
        if isinstance(paths, str):
            paths = [paths]
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise BadRequest("`paths` must be a list of strings")
        raw_expand = body.get("expand", False)
        expand = query_bool(raw_expand) if isinstance(raw_expand, str) else bool(raw_expand)
    else:
        paths = request.POST.getlist("paths") + request.POST.getlist("paths[]")
        expand = query_bool(request.POST.get("expand"))
    if len(paths) > MAX_PATHS:
        raise BadRequest(f"Too many paths: at most {MAX_PATHS} per request")
    return paths, expand
