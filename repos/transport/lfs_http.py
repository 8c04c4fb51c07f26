"""The Git LFS server: batch API, verify, locks, signed upload PUT and download GET
(HF_PROTOCOL.md 6.3, 10.3; git-lfs docs/api/batch.md, basic-transfers.md, locking.md).

* batch (`POST {repo}.git/info/lfs/objects/batch`): upload needs write access (or, for a
  batch without `ref`, the right to open a pull request: HF's create_pr uploads); download
  needs read access. Uploads are answered `"transfer": "xet"` when the client offers it
  (huggingface_hub 0.31-1.19 with hf_xet: it then uploads to the Xet CAS, `repos.transport.xet_cas`,
  and ignores the actions); everything else gets "basic" (multipart is not offered).
* upload hrefs are signed (huggingface_hub PUTs with no credentials at all); the PUT streams
  the body into the store, hashed on the way, visible only once sha256 and size match.
* download hrefs are signed too, so git-lfs needs no credentials for the transfer itself.
* An object counts as present for a repository only if it was uploaded to *that*
  repository (`repos.gate.object_readable`): the store is shared, proof of possession is not.
* locks: `locks/verify` answers "no locks" (git-lfs calls it before every push); listing
  answers an empty list; creating or releasing a lock is a clean 501.
* CSRF: git-lfs and huggingface_hub send tokens (or nothing), never cookies; a browser could
  send the session cookie cross-site, so session-authenticated JSON requests must carry the
  CSRF token (`hub.http.api.enforce_session_csrf`; signed hrefs are their own credential).
"""
from __future__ import annotations

import hashlib
import json
import time
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.views.decorators.csrf import csrf_exempt

from accounts.models import AccessToken, User
from accounts.permissions import current_principal, request_principal
from hub.exceptions import (
    BadRequest,
    Forbidden,
    HubError,
    MethodNotAllowed,
    NotFound,
    NotSupported,
    RepoNotFound,
    Unauthorized,
    Unprocessable,
)
from hub.http import ratelimit
from hub.http.api import enforce_session_csrf
from hub.http.errors import LFS_CONTENT_TYPE
from hub.http.openapi import LFS_MEDIA, document
from hub.http.urls import public_url
from repos import objects
from repos.gate import Action, check_access
from repos.lfs.batch import (
    BatchError,
    LfsAction,
    batch_response,
    object_actions,
    object_error,
    parse_batch_request,
    select_transfer,
)
from repos.lfs.pointer import is_valid_oid
from repos.lfs.signing import sign_upload, verify_upload
from repos.models import Repository
from repos.objects import readable_objects
from repos.policy.upload import check_lfs_object_size
from repos.selectors.lfs import repo_by_storage_key
from repos.selectors.pull_requests import PR_REF_RE
from repos.transport.bodies import IncompleteBody, body_length, iter_request_body, read_json_body
from repos.transport.git_http import authorize_repo
from repos.transport.serving import serve_blob

HREF_TTL = 3600
MAX_JSON_BODY = 16 * 1024 * 1024
# Upload bodies are read in gunicorn's largest recv() (1 MiB): smaller reads make its body
# reader re-buffer the rest of each recv on every call, which tripled an upload's CPU
# (bench/upload.py). Memory stays bounded by one chunk.
UPLOAD_READ_SIZE = 1024 * 1024
_DOWNLOAD_SALT = "modelhub.lfs.download.v1"
_VERIFY_SALT = "modelhub.lfs.verify.v1"


# --------------------------------------------------------------------------- helpers


def lfs_json(data: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(json.dumps(data), status=status, content_type=LFS_CONTENT_TYPE)


def _read_json(request: HttpRequest) -> Any:
    """The JSON body (chunked bodies too), bounded in size and depth; git-lfs expects 422
    for a body it cannot use."""
    try:
        return read_json_body(request, limit=MAX_JSON_BODY)
    except BadRequest as exc:
        raise Unprocessable(exc.message) from None


def _upload_secret() -> bytes:
    # A key of its own, derived from SECRET_KEY, so an upload signature is useless anywhere
    # SECRET_KEY signs something else.
    return hashlib.sha256(b"modelhub-lfs-upload:" + settings.SECRET_KEY.encode()).digest()


def upload_href(repo: Repository, oid: str, size: int, *, principal: str, now: int | None = None) -> str:
    """The signed PUT URL of one object for `principal` (`_principal_of`): who asked is part of
    the signature, so that the upload is admitted only if they still may write when it ends."""
    expires = int(now if now is not None else time.time()) + HREF_TTL
    key = repo.storage_key.hex
    sig = sign_upload(_upload_secret(), repo_key=key, oid=oid, size=size, expires_at=expires, principal=principal)
    query = {"size": size, "expires": expires, "p": principal, "sig": sig}
    return public_url(f"lfs-upload/{key}/{oid}?" + urlencode(query))


def _principal_of(request: HttpRequest, *, action: Action) -> str:
    """`{user id}.{token id or 0}.{action}`: the uploader named in a signed upload URL."""
    user, token = request_principal(request)
    return f"{user.pk}.{token.pk if token is not None else 0}.{action}"


def _admit_uploader(repo: Repository, principal: str) -> None:
    """The uploader's access, checked again when the upload completes (a token revoked, an
    account deactivated or a role lost while the bytes streamed refuses the object)."""
    try:
        user_id, token_id, action = principal.split(".")
        user = User.objects.get(pk=int(user_id))
        token = AccessToken.objects.get(pk=int(token_id)) if token_id != "0" else None
    except (ValueError, User.DoesNotExist, AccessToken.DoesNotExist):
        raise Forbidden("Upload refused: you no longer have access to this repository") from None
    user, token = current_principal(user, token)
    if action not in ("write", "contribute"):
        raise Forbidden("Invalid or expired upload URL")
    try:
        check_access(user, repo, action, token=token)  # type: ignore[arg-type]
    except (RepoNotFound, Forbidden):
        raise Forbidden("Upload refused: you no longer have write access to this repository") from None


def verify_href(repo: Repository) -> str:
    # Signed as well: git-lfs sends the verify request with the action's headers only.
    token = signing.dumps({"r": repo.storage_key.hex, "o": None}, salt=_VERIFY_SALT, compress=False)
    return public_url(f"{repo.url_path}.git/info/lfs/objects/verify?" + urlencode({"token": token}))


def download_href(repo: Repository, oid: str) -> str:
    token = signing.dumps({"r": repo.storage_key.hex, "o": oid}, salt=_DOWNLOAD_SALT, compress=False)
    return public_url(f"{repo.url_path}.git/info/lfs/objects/{oid}?" + urlencode({"token": token}))


# --------------------------------------------------------------------------- batch


@document("POST", style="lfs", body=LFS_MEDIA)
@csrf_exempt
def batch(request: HttpRequest, namespace: str, name: str, prefix: str | None = None) -> HttpResponse:
    if request.method != "POST":
        raise MethodNotAllowed(str(request.method), "POST")
    enforce_session_csrf(request)
    try:
        req = parse_batch_request(_read_json(request))
    except BatchError as exc:
        error = HubError(exc.message)
        error.status = exc.code  # 422 invalid, 413 too many objects, 409 unknown hash
        raise error from exc
    upload = req.operation == "upload"
    # Uploads for a branch or tag need write access; without a ref (HF create_pr flows) or for
    # a PR ref (`upload_file(revision="refs/pr/N")` by the PR's author) the right to propose
    # changes is enough: whether this caller may move that PR ref is decided when the commit or
    # push naming it arrives (repos.policy.push), and objects stay invisible until then.
    for_branch = req.ref is not None and not PR_REF_RE.fullmatch(req.ref)
    repo = authorize_repo(request, prefix=prefix, namespace=namespace, name=name,
                          upload=upload and for_branch, push=upload and not for_branch)
    principal = _principal_of(request, action="write" if for_branch else "contribute") if upload else ""
    if upload:
        ratelimit.check(request, "upload")  # downloads use the same route: told apart by the body

    available = readable_objects(repo=repo, oids=[o.oid for o in req.objects])
    verify = LfsAction(href=verify_href(repo), expires_in=HREF_TTL)
    now = int(time.time())
    entries = []
    for oid, size in req.objects:
        if upload:
            reason = check_lfs_object_size(size)
            if reason:
                entries.append(object_error(oid, size, 422, reason))
            elif available.get(oid) == size:
                entries.append(object_actions(oid, size))  # already here: nothing to transfer
            else:
                up = LfsAction(href=upload_href(repo, oid, size, principal=principal, now=now), expires_in=HREF_TTL)
                entries.append(object_actions(oid, size, upload=up, verify=verify))
        else:
            if oid not in available:
                entries.append(object_error(oid, size, 404, "Object does not exist"))
            elif available[oid] != size:
                entries.append(object_error(oid, size, 422, f"Size mismatch: the object has {available[oid]} bytes"))
            else:
                down = LfsAction(href=download_href(repo, oid), expires_in=HREF_TTL)
                entries.append(object_actions(oid, size, download=down))
    # Encrypted repositories are offered Xet too: their xorbs are stored encrypted
    # (`repos.objects.xet`), and huggingface_hub >= 1.20 uses Xet without asking anyway.
    offered = ("xet", "basic") if upload and settings.HUB_XET_ENABLED else ("basic",)
    return lfs_json(batch_response(entries, transfer=select_transfer(req.transfers, offered=offered)))


# --------------------------------------------------------------------------- verify


@document("POST", style="lfs", body=LFS_MEDIA)
@csrf_exempt
def verify(request: HttpRequest, namespace: str, name: str, prefix: str | None = None) -> HttpResponse:
    if request.method != "POST":
        raise MethodNotAllowed(str(request.method), "POST")
    token = request.GET.get("token")
    if token:
        repo = _repo_for_token(token, salt=_VERIFY_SALT, prefix=prefix, namespace=namespace, name=name)
    else:
        enforce_session_csrf(request)
        repo = authorize_repo(request, prefix=prefix, namespace=namespace, name=name)
    body = _read_json(request)
    oid = body.get("oid") if isinstance(body, dict) else None
    size = body.get("size") if isinstance(body, dict) else None
    if not is_valid_oid(oid) or isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise Unprocessable("Invalid oid or size")
    stored = readable_objects(repo=repo, oids=[oid]).get(oid)
    if stored is None:
        raise NotFound("Object does not exist")
    if stored != size:
        raise Unprocessable(f"Size mismatch: the object has {stored} bytes, not {size}")
    return lfs_json({"oid": oid, "size": size})


# --------------------------------------------------------------------------- transfers


@document("PUT", style="lfs", body="application/octet-stream")
@csrf_exempt
def upload(request: HttpRequest, key: str, oid: str) -> HttpResponse:
    """`PUT /lfs-upload/{repo key}/{oid}?size=&expires=&sig=`: the signature is the credential."""
    if request.method != "PUT":
        raise MethodNotAllowed(str(request.method), "PUT")
    try:
        size = int(request.GET.get("size", ""))
        expires = int(request.GET.get("expires", ""))
    except ValueError:
        raise Forbidden("Invalid or expired upload URL") from None
    principal = request.GET.get("p", "")
    if not verify_upload(_upload_secret(), repo_key=key, oid=oid, size=size, expires_at=expires,
                         signature=request.GET.get("sig", ""), now=int(time.time()), principal=principal):
        raise Forbidden("Invalid or expired upload URL")
    repo = repo_by_storage_key(key=key)
    if repo is None:
        raise NotFound("Repository not found")
    length = body_length(request)
    if length is not None and length != size:
        raise Unprocessable(f"Size mismatch: expected {size} bytes, the request announces {length}")
    try:
        body = iter_request_body(request, chunk_size=UPLOAD_READ_SIZE, zero_copy=True)
        objects.ingest(repo=repo, oid=oid, size=size, source=body, admit=lambda: _admit_uploader(repo, principal))
    except objects.ObjectVerifyError as exc:
        raise Unprocessable(f"Upload rejected: {exc}") from exc
    except IncompleteBody as exc:
        raise BadRequest(f"Upload incomplete: {exc}") from exc
    return HttpResponse(b"", status=200)


@document("GET", style="lfs")
@csrf_exempt
def download(request: HttpRequest, namespace: str, name: str, oid: str,
             prefix: str | None = None) -> HttpResponseBase:
    """`GET {repo}.git/info/lfs/objects/{oid}`: with the signed token of a batch response,
    or with credentials that can read the repository."""
    if request.method not in ("GET", "HEAD"):
        raise MethodNotAllowed(str(request.method), "GET")
    token = request.GET.get("token")
    if token:
        repo = _repo_for_token(token, salt=_DOWNLOAD_SALT, prefix=prefix, namespace=namespace, name=name, oid=oid)
    else:
        repo = authorize_repo(request, prefix=prefix, namespace=namespace, name=name)
    found = objects.find(repo=repo, oid=oid)
    if found is None:
        raise NotFound("Object does not exist")
    return serve_blob(request, size=found.size, etag=oid, filename=oid, opener=found.open,
                      content_type="application/octet-stream", attachment=True)


def _repo_for_token(token: str, *, salt: str, prefix: str | None, namespace: str, name: str,
                    oid: str | None = None) -> Repository:
    """The repository a signed href was minted for (the signature is the permission); it
    must also be the repository the URL names."""
    try:
        data = signing.loads(token, salt=salt, max_age=HREF_TTL)
    except signing.BadSignature:
        raise Unauthorized("Invalid or expired URL") from None
    repo = repo_by_storage_key(key=str(data.get("r", ""))) if isinstance(data, dict) else None
    if repo is None or data.get("o") != oid or repo.url_path != f"{prefix + '/' if prefix else ''}{namespace}/{name}":
        raise Unauthorized("Invalid or expired URL")
    return repo


# --------------------------------------------------------------------------- locks


@document("POST", style="lfs", body=LFS_MEDIA)
@csrf_exempt
def locks_verify(request: HttpRequest, namespace: str, name: str, prefix: str | None = None) -> HttpResponse:
    """git-lfs asks before each push which files others have locked: none, ever."""
    if request.method != "POST":
        raise MethodNotAllowed(str(request.method), "POST")
    enforce_session_csrf(request)
    authorize_repo(request, prefix=prefix, namespace=namespace, name=name, push=True)
    return lfs_json({"ours": [], "theirs": []})


@document("GET", "POST", style="lfs")
@csrf_exempt
def locks(request: HttpRequest, namespace: str, name: str, rest: str = "", prefix: str | None = None) -> HttpResponse:
    """The rest of the locking API: listing says "no locks"; locking is not supported."""
    enforce_session_csrf(request)  # unsafe methods only
    authorize_repo(request, prefix=prefix, namespace=namespace, name=name)
    if request.method in ("GET", "HEAD") and not rest:
        return lfs_json({"locks": []})
    raise NotSupported("File locking is not supported by this server")
