"""`HEAD|GET /{[datasets/|spaces/]}{ns}/{name}/resolve/{rev}/{path}`: file bytes.

The metadata HEAD is on the critical path of every `hf_hub_download` and `from_pretrained`
file (HF_PROTOCOL.md §5.2): it reads no blob content beyond an LFS pointer, hashes nothing,
and answers from git's ids and the pointer. Content is served directly, never through a
redirect (§5.3); only a moved repository redirects, relatively, to its new name
(`repos.gate.repo_from_request`, surface "bytes").

Files registered in the Xet CAS for this repository also carry `X-Xet-Hash` and a
`Link: <...xet-read-token/{commit}>; rel="xet-auth"` (XET.md §2.2): hf_xet clients then download
them from the CAS; every other client keeps reading the bytes here.
"""
from __future__ import annotations

import io

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.views.decorators.csrf import csrf_exempt

from hub.exceptions import EntryNotFound, MethodNotAllowed
from hub.http.openapi import document
from hub.http.urls import public_url
from repos import objects
from repos.downloads import counts_as_download
from repos.gate import repo_from_request
from repos.git.repository import GitRepo
from repos.handles import git_repo_for_read
from repos.models import Repository
from repos.models.repository import repo_type_for_prefix
from repos.revisions import git_errors_as_http, split_revision_path
from repos.selectors.files import file_resolve
from repos.services.likes import repo_count_download
from repos.transport.serving import serve_blob


@document("GET", "HEAD")
@csrf_exempt
def resolve_file(request: HttpRequest, namespace: str, name: str, remainder: str,
                 prefix: str | None = None) -> HttpResponseBase:
    if request.method not in ("GET", "HEAD"):
        raise MethodNotAllowed(str(request.method), "GET, HEAD")
    repo = repo_from_request(request, repo_type=repo_type_for_prefix(prefix), namespace=namespace, name=name,
                             surface="bytes", files=True)
    git = git_repo_for_read(repo)
    with git_errors_as_http():
        rev, path = split_revision_path(git, remainder)
        found = file_resolve(git=git, rev=rev, path=path)
    entry = found.entry
    headers = {"X-Repo-Commit": found.sha}
    if entry.lfs is not None:
        # A pointer whose object never reached this repository (or of another size) cannot be
        # served; to a client that is the same as the file not being there (and never a 500).
        stored = objects.find(repo=repo, oid=entry.lfs.oid)
        if stored is None or stored.size != entry.lfs.size:
            raise EntryNotFound(f"The LFS object of {path!r} is missing from this repository's storage",
                                headers=headers)
        xet_hash = stored.xet_hash if settings.HUB_XET_ENABLED else None
        if xet_hash is not None:
            headers["X-Xet-Hash"] = xet_hash
            token_url = public_url(f"api/{repo.api_plural}/{repo.repo_id}/xet-read-token/{found.sha}")
            headers["Link"] = f'<{token_url}>; rel="xet-auth"'
        response = serve_blob(request, size=stored.size, etag=entry.lfs.oid, filename=path, opener=stored.open,
                              attachment=True, extra_headers=headers)
    else:
        response = serve_blob(request, size=entry.size, etag=entry.oid, filename=path,
                              opener=lambda: io.BytesIO(git.read_blob(entry.oid)), extra_headers=headers)
    _count_download(request, repo=repo, git=git, sha=found.sha, path=path, status=response.status_code)
    return response


def _count_download(request: HttpRequest, *, repo: Repository, git: GitRepo, sha: str, path: str,
                    status: int) -> None:
    """A full GET of a file that counts (`repos.downloads`) is one more download."""
    if request.method != "GET" or status != 200 or "HTTP_RANGE" in request.META:
        return
    if counts_as_download(repo_type=repo.repo_type, path=path,
                          has_config=lambda: git.get_entry(sha, "config.json") is not None):
        repo_count_download(repo=repo)
