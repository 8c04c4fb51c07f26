"""Repository info (`model_info`, `repo_info`, `revision_exists`) and `auth_check`."""
from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from accounts.permissions import request_principal
from hub.exceptions import Forbidden
from hub.http.api import api_view, json_response
from hub.http.inputs import query_bool, query_list
from repos.api.patterns import repo_from_api_request
from repos.api.serializers import serialize_repo_info
from repos.file_security import repo_security_status
from repos.gate import can_write
from repos.handles import git_repo_for_read
from repos.revisions import git_errors_as_http
from repos.selectors.repo_info import repo_info


@api_view("GET")
def repo_info_api(request: HttpRequest, plural: str, namespace: str, name: str, rev: str | None = None) -> JsonResponse:
    """`GET /api/{type}s/{id}` and `/api/{type}s/{id}/revision/{rev}`."""
    repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name)
    expand = query_list(request, "expand")
    blobs = query_bool(request.GET.get("blobs"))
    security = query_bool(request.GET.get("securityStatus"))
    with git_errors_as_http():
        info = repo_info(repo=repo, git=git_repo_for_read(repo), revision=rev,
                         with_files=not expand or "siblings" in expand or security, with_blobs=blobs or security)
    # The verdicts are keyed by content id (an LFS file's sha256), hence the pointer reads above.
    security_status = repo_security_status(repo, [(e.path, e.etag) for e in info.files or ()]) if security else None
    # A file tree past the walk limits lists what was walked; the header says the rest is missing.
    headers = {"X-Siblings-Truncated": "true"} if info.files_truncated else None
    return json_response(serialize_repo_info(repo, sha=info.sha, files=info.files, blobs=blobs, expand=expand,
                                             card=info.card, security_status=security_status), headers=headers)


@api_view("GET")
def auth_check_api(request: HttpRequest, plural: str, namespace: str, name: str,
                   access: str | None = None) -> JsonResponse:
    """`GET /api/{type}s/{id}/auth-check[/write]`: 200 `{}`, or the error the caller would
    get on that repository (RepoNotFound when hidden, 403 without write access)."""
    user, token = request_principal(request)
    repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name, files=True)
    if access == "write" and not can_write(user, repo, token=token):
        raise Forbidden("You don't have write access to this repository")
    return json_response({})
