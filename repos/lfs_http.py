"""The Git LFS server: batch API, verify, locks, signed upload PUT and download GET
(HF_PROTOCOL.md 6.3, 10.3; git-lfs docs/api/batch.md, basic-transfers.md, locking.md).

* batch (`POST {repo}.git/info/lfs/objects/batch`): upload needs write access (or, for a
  batch without `ref`, the right to open a pull request: HF's create_pr uploads); download
  needs read access. Only the "basic" transfer is ever announced (never "xet", and multipart
  is not offered, so clients asking for it fall back to basic).
* upload hrefs are signed (huggingface_hub PUTs with no credentials at all); the PUT streams
  the body into the store, hashed on the way, visible only once sha256 and size match.
* download hrefs are signed too, so git-lfs needs no credentials for the transfer itself.
* An object counts as present for a repository only if it was uploaded to *that*
  repository (`RepoLfsObject`): the store is shared, proof of possession is not.
* locks: `locks/verify` answers "no locks" (git-lfs calls it before every push); listing
  answers an empty list; creating or releasing a lock is a clean 501.
"""
from __future__ import annotations

import errno
import hashlib
import json
import time
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.views.decorators.csrf import csrf_exempt

from hub.exceptions import (
    BadRequest,
    Forbidden,
    HubError,
    InsufficientStorage,
    NotFound,
    NotSupported,
    PayloadTooLarge,
    Unauthorized,
    Unprocessable,
)
from repos.git import http_body
from repos.git_http import REALM, authorize_repo
from repos.lfs.batch import BatchError, LfsAction, batch_response, object_actions, object_error, parse_batch_request
from repos.lfs.errors import LfsVerifyError
from repos.lfs.pointer import is_valid_oid
from repos.lfs.signing import sign_upload, verify_upload
from repos.models import Repository
from repos.selectors.lfs import lfs_objects_available, repo_by_storage_key
from repos.services.lfs import lfs_object_upload
from repos.serving import serve_blob
from repos.storage import lfs_store, public_url
from repos.upload_body import iter_upload_body
from repos.upload_policy import check_lfs_object_size

LFS_CONTENT_TYPE = "application/vnd.git-lfs+json"
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


def lfs_error(exc: HubError) -> HttpResponse:
    """An error git-lfs displays (`message`) and huggingface_hub maps (`error` + headers)."""
    response = lfs_json({"message": exc.message, "error": exc.message}, status=exc.status)
    if exc.code:
        response["X-Error-Code"] = exc.code
    response["X-Error-Message"] = exc.message.replace("\r", " ").replace("\n", " ")[:1000]
    for key, value in exc.headers.items():
        response[key] = value
    if exc.status == 401:
        response["LFS-Authenticate"] = REALM
        response["WWW-Authenticate"] = REALM
    return response


def _method_not_allowed(allowed: str) -> HttpResponse:
    response = lfs_error(HubError("Method not allowed"))
    response.status_code = 405
    response["Allow"] = allowed
    return response


def _read_json(request: HttpRequest) -> Any:
    """The JSON body, read from the WSGI stream so chunked bodies work too (bounded)."""
    meta = request.META
    chunked = "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower()
    try:
        length = None if chunked else int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise BadRequest("Invalid Content-Length") from None
    if length is not None and length > MAX_JSON_BODY:
        raise PayloadTooLarge("Request body too large")
    data = bytearray()
    for chunk in http_body.iter_body(meta["wsgi.input"], length):
        data += chunk
        if len(data) > MAX_JSON_BODY:
            raise PayloadTooLarge("Request body too large")
    try:
        return json.loads(bytes(data).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Unprocessable("The request body is not valid JSON") from None


def _upload_secret() -> bytes:
    # A key of its own, derived from SECRET_KEY, so an upload signature is useless anywhere
    # SECRET_KEY signs something else.
    return hashlib.sha256(b"modelhub-lfs-upload:" + settings.SECRET_KEY.encode()).digest()


def upload_href(repo: Repository, oid: str, size: int, *, now: int | None = None) -> str:
    expires = int(now if now is not None else time.time()) + HREF_TTL
    key = repo.storage_key.hex
    sig = sign_upload(_upload_secret(), repo_key=key, oid=oid, size=size, expires_at=expires)
    return public_url(f"lfs-upload/{key}/{oid}?" + urlencode({"size": size, "expires": expires, "sig": sig}))


def verify_href(repo: Repository) -> str:
    # Signed as well: git-lfs sends the verify request with the action's headers only.
    token = signing.dumps({"r": repo.storage_key.hex, "o": None}, salt=_VERIFY_SALT, compress=False)
    return public_url(f"{repo.url_path}.git/info/lfs/objects/verify?" + urlencode({"token": token}))


def download_href(repo: Repository, oid: str) -> str:
    token = signing.dumps({"r": repo.storage_key.hex, "o": oid}, salt=_DOWNLOAD_SALT, compress=False)
    return public_url(f"{repo.url_path}.git/info/lfs/objects/{oid}?" + urlencode({"token": token}))


# --------------------------------------------------------------------------- batch


@csrf_exempt
def batch(request: HttpRequest, namespace: str, name: str, prefix: str | None = None) -> HttpResponse:
    if request.method != "POST":
        return _method_not_allowed("POST")
    try:
        try:
            req = parse_batch_request(_read_json(request))
        except BatchError as exc:
            error = HubError(exc.message)
            error.status = exc.code  # 422 invalid, 413 too many objects, 409 unknown hash
            raise error from exc
        upload = req.operation == "upload"
        # Uploads for a ref need write access; without a ref (HF create_pr flows) the right
        # to propose changes is enough, like for a push to one's own PR ref.
        repo = authorize_repo(request, prefix=prefix, namespace=namespace, name=name,
                              upload=upload and req.ref is not None, push=upload and req.ref is None)
    except HubError as exc:
        return lfs_error(exc)

    available = lfs_objects_available(repo=repo, oids=[o.oid for o in req.objects])
    verify = LfsAction(href=verify_href(repo), expires_in=HREF_TTL)
    now = int(time.time())
    objects = []
    for oid, size in req.objects:
        if upload:
            reason = check_lfs_object_size(size)
            if reason:
                objects.append(object_error(oid, size, 422, reason))
            elif available.get(oid) == size:
                objects.append(object_actions(oid, size))  # already here: nothing to transfer
            else:
                up = LfsAction(href=upload_href(repo, oid, size, now=now), expires_in=HREF_TTL)
                objects.append(object_actions(oid, size, upload=up, verify=verify))
        else:
            if oid not in available:
                objects.append(object_error(oid, size, 404, "Object does not exist"))
            elif available[oid] != size:
                objects.append(object_error(oid, size, 422, f"Size mismatch: the object has {available[oid]} bytes"))
            else:
                down = LfsAction(href=download_href(repo, oid), expires_in=HREF_TTL)
                objects.append(object_actions(oid, size, download=down))
    return lfs_json(batch_response(objects, transfer="basic"))


# --------------------------------------------------------------------------- verify


@csrf_exempt
def verify(request: HttpRequest, namespace: str, name: str, prefix: str | None = None) -> HttpResponse:
    if request.method != "POST":
        return _method_not_allowed("POST")
    token = request.GET.get("token")
    try:
        if token:
            repo = _repo_for_token(token, salt=_VERIFY_SALT, prefix=prefix, namespace=namespace, name=name)
        else:
            repo = authorize_repo(request, prefix=prefix, namespace=namespace, name=name)
        body = _read_json(request)
        oid = body.get("oid") if isinstance(body, dict) else None
        size = body.get("size") if isinstance(body, dict) else None
        if not is_valid_oid(oid) or isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise Unprocessable("Invalid oid or size")
        stored = lfs_objects_available(repo=repo, oids=[oid]).get(oid)
        if stored is None:
            raise NotFound("Object does not exist")
        if stored != size:
            raise Unprocessable(f"Size mismatch: the object has {stored} bytes, not {size}")
    except HubError as exc:
        return lfs_error(exc)
    return lfs_json({"oid": oid, "size": size})


# --------------------------------------------------------------------------- transfers


@csrf_exempt
def upload(request: HttpRequest, key: str, oid: str) -> HttpResponse:
    """`PUT /lfs-upload/{repo key}/{oid}?size=&expires=&sig=`: the signature is the credential."""
    if request.method != "PUT":
        return _method_not_allowed("PUT")
    try:
        try:
            size = int(request.GET.get("size", ""))
            expires = int(request.GET.get("expires", ""))
        except ValueError:
            raise Forbidden("Invalid or expired upload URL") from None
        if not verify_upload(_upload_secret(), repo_key=key, oid=oid, size=size, expires_at=expires,
                             signature=request.GET.get("sig", ""), now=int(time.time())):
            raise Forbidden("Invalid or expired upload URL")
        repo = repo_by_storage_key(key=key)
        if repo is None:
            raise NotFound("Repository not found")
        meta = request.META
        chunked = "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower()
        try:
            length = None if chunked else int(meta.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise BadRequest("Invalid Content-Length") from None
        if length is not None and length != size:
            raise Unprocessable(f"Size mismatch: expected {size} bytes, the request announces {length}")
        try:
            body = iter_upload_body(meta["wsgi.input"], length, chunk_size=UPLOAD_READ_SIZE)
            lfs_object_upload(repo=repo, oid=oid, size=size, source=body)
        except LfsVerifyError as exc:
            raise Unprocessable(f"Upload rejected: {exc}") from exc
        except http_body.IncompleteBody as exc:
            raise BadRequest(f"Upload incomplete: {exc}") from exc
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise InsufficientStorage() from exc
            raise
    except HubError as exc:
        return lfs_error(exc)
    return HttpResponse(b"", status=200)


@csrf_exempt
def download(request: HttpRequest, namespace: str, name: str, oid: str,
             prefix: str | None = None) -> HttpResponseBase:
    """`GET {repo}.git/info/lfs/objects/{oid}`: with the signed token of a batch response,
    or with credentials that can read the repository."""
    if request.method not in ("GET", "HEAD"):
        return _method_not_allowed("GET")
    token = request.GET.get("token")
    try:
        if token:
            repo = _repo_for_token(token, salt=_DOWNLOAD_SALT, prefix=prefix, namespace=namespace, name=name,
                                   oid=oid)
        else:
            repo = authorize_repo(request, prefix=prefix, namespace=namespace, name=name)
        size = lfs_objects_available(repo=repo, oids=[oid]).get(oid)
        if size is None:
            raise NotFound("Object does not exist")
    except HubError as exc:
        return lfs_error(exc)
    store = lfs_store()
    return serve_blob(request, size=size, etag=oid, filename=oid, opener=lambda: store.open(oid),
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


@csrf_exempt
def locks_verify(request: HttpRequest, namespace: str, name: str, prefix: str | None = None) -> HttpResponse:
    """git-lfs asks before each push which files others have locked: none, ever."""
    if request.method != "POST":
        return _method_not_allowed("POST")
    try:
        authorize_repo(request, prefix=prefix, namespace=namespace, name=name, push=True)
    except HubError as exc:
        return lfs_error(exc)
    return lfs_json({"ours": [], "theirs": []})


@csrf_exempt
def locks(request: HttpRequest, namespace: str, name: str, rest: str = "", prefix: str | None = None) -> HttpResponse:
    """The rest of the locking API: listing says "no locks"; locking is not supported."""
    try:
        authorize_repo(request, prefix=prefix, namespace=namespace, name=name)
    except HubError as exc:
        return lfs_error(exc)
    if request.method == "GET" and not rest:
        return lfs_json({"locks": []})
    return lfs_error(NotSupported("File locking is not supported by this server"))
