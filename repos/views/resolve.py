"""`HEAD|GET /{[datasets/|spaces/]}{ns}/{name}/resolve/{rev}/{path}`: file bytes.

The metadata HEAD is on the critical path of every `hf_hub_download` and `from_pretrained`
file (HF_PROTOCOL.md §5.2): it reads no blob content beyond an LFS pointer, hashes nothing,
and answers from git's ids and the pointer. Content is served directly, never through a
redirect (§5.3); only a moved repository redirects, relatively, to its new name.
"""
from __future__ import annotations

import io
from typing import BinaryIO
from urllib.parse import quote

from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.views.decorators.csrf import csrf_exempt

from hub.errors_http import error_response
from hub.exceptions import EntryNotFound
from repos.lfs.errors import LfsObjectNotFound
from repos.lfs.pointer import LfsPointer
from repos.models import Repository, RepoType
from repos.permissions import check_file_access, get_repo_or_404, request_principal
from repos.revisions import git_errors_as_http, split_revision_path
from repos.selectors.files import file_resolve, lfs_object_available
from repos.serving import serve_blob
from repos.storage import git_repo_for_read, lfs_store

_PREFIX_TYPES = {None: RepoType.MODEL, "": RepoType.MODEL, "datasets": RepoType.DATASET, "spaces": RepoType.SPACE}


@csrf_exempt
def resolve_file(request: HttpRequest, namespace: str, name: str, remainder: str,
                 prefix: str | None = None) -> HttpResponseBase:
    if request.method not in ("GET", "HEAD"):
        response = error_response(405, f"Method {request.method} not allowed", request=request)
        response["Allow"] = "GET, HEAD"
        return response
    user, token = request_principal(request)
    repo = get_repo_or_404(user, repo_type=_PREFIX_TYPES[prefix], namespace=namespace, name=name, action="read",
                           token=token)
    if (repo.namespace, repo.name) != (namespace, name):
        return _moved(request, repo.url_path, remainder)
    check_file_access(user, repo, token=token)

    git = git_repo_for_read(repo)
    with git_errors_as_http():
        rev, path = split_revision_path(git, remainder)
        found = file_resolve(git=git, rev=rev, path=path)
    entry = found.entry
    headers = {"X-Repo-Commit": found.sha}
    if entry.lfs is not None:
        return _serve_lfs(request, repo=repo, path=path, pointer=entry.lfs, headers=headers)
    return serve_blob(request, size=entry.size, etag=entry.oid, filename=path,
                      opener=lambda: io.BytesIO(git.read_blob(entry.oid)), extra_headers=headers)


def _serve_lfs(request: HttpRequest, *, repo: Repository, path: str, pointer: LfsPointer,
               headers: dict[str, str]) -> HttpResponseBase:
    # A pointer whose object never reached this repository cannot be served; to a client
    # that is the same as the file not being there (and never a 500).
    missing = EntryNotFound(f"The LFS object of {path!r} is missing from this repository's storage",
                            headers=headers)
    if not lfs_object_available(repo=repo, pointer=pointer):
        raise missing

    def open_object() -> BinaryIO:
        try:
            return lfs_store().open(pointer.oid)
        except LfsObjectNotFound:  # purged since the check
            raise missing from None

    return serve_blob(request, size=pointer.size, etag=pointer.oid, filename=path, opener=open_object,
                      attachment=True, extra_headers=headers)


class _TemporaryRedirect(HttpResponseRedirect):
    status_code = 307


def _moved(request: HttpRequest, url_path: str, remainder: str) -> HttpResponseRedirect:
    """Relative 307 to the repository's current name (§3.5, §5.3): every client version
    follows a relative redirect and then reads metadata from the final response."""
    location = f"/{url_path}/resolve/{quote(remainder, safe='/')}"
    if request.META.get("QUERY_STRING"):
        location += "?" + request.META["QUERY_STRING"]
    return _TemporaryRedirect(location)
