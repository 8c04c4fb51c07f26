"""Repository info (`model_info`, `repo_info`, `revision_exists`) and `auth_check`."""
from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from repos.api.formats import query_bool
from repos.api.read.common import api_view, json_response, query_list, repo_for
from repos.api.serializers import serialize_repo_info
from repos.permissions import check_file_access, request_principal
from repos.revisions import git_errors_as_http
from repos.selectors.repo_info import repo_info
from repos.storage import git_repo_for_read


@api_view("GET")
def repo_info_api(request: HttpRequest, plural: str, namespace: str, name: str, rev: str | None = None) -> JsonResponse:
    """`GET /api/{type}s/{id}` and `/api/{type}s/{id}/revision/{rev}`."""
    repo = repo_for(request, plural=plural, namespace=namespace, name=name)
    expand = query_list(request, "expand")
    blobs = query_bool(request.GET.get("blobs"))
    with git_errors_as_http():
        info = repo_info(repo=repo, git=git_repo_for_read(repo), revision=rev,
                         with_files=not expand or "siblings" in expand, with_blobs=blobs)
    return json_response(serialize_repo_info(repo, sha=info.sha, files=info.files, blobs=blobs, expand=expand,
                                             card=info.card))


@api_view("GET")
def auth_check_api(request: HttpRequest, plural: str, namespace: str, name: str,
                   access: str | None = None) -> JsonResponse:
    """`GET /api/{type}s/{id}/auth-check[/write]`: 200 `{}`, or the error the caller would
    get on that repository (RepoNotFound when hidden, 403 without write access)."""
    repo = repo_for(request, plural=plural, namespace=namespace, name=name,
                    action="write" if access == "write" else "read")
    user, token = request_principal(request)
    check_file_access(user, repo, token=token)
    return json_response({})
