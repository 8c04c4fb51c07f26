"""git smart HTTP views: `/{ns}/{name}[.git]/info/refs`, `/git-upload-pack`,
`/git-receive-pack`, and the `datasets/` / `spaces/` forms (HF_PROTOCOL.md 10.1-10.2).

Parse -> authorize (repos.permissions) -> hand the streams to `repos.git.smart_http`.

Errors are `text/plain`: git prints such a body to the user as `remote: <message>`, which a
JSON body would not get. They still carry `X-Error-Code` / `X-Error-Message`. A request that
needs credentials and has none gets 401 + `WWW-Authenticate`, so git asks its credential
helper and retries; authenticated strangers get the same 404 as for a missing repository.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from hub.exceptions import BadRequest, Forbidden, HubError, RepoNotFound, Unauthorized
from repos.git import http_body, smart_http
from repos.git.hooks import HOOKS_DIR, HookServer, hooks_installed
from repos.git.pack_cache import PackCacheSettings
from repos.git.quarantine import reap_stale_quarantines
from repos.models import Repository
from repos.models.repository import RepoType
from repos.permissions import (
    can_open_pull_request,
    can_write,
    check_file_access,
    get_repo_or_404,
    request_principal,
)
from repos.services.push import PushSession

logger = logging.getLogger(__name__)

REALM = 'Basic realm="ModelHub"'
_PREFIX_TYPES = {None: RepoType.MODEL, "": RepoType.MODEL, "datasets": RepoType.DATASET, "spaces": RepoType.SPACE}
DEFAULT_GIT_TIMEOUT = 3600.0
# A push larger than this is cut off by receive-pack itself (files above 10 MiB must be LFS
# anyway, so only very large numbers of files get near it).
DEFAULT_MAX_PUSH_BYTES = 10 * 1024**3
QUARANTINE_REAP_MARGIN = 600.0


def text_error(exc: HubError) -> HttpResponse:
    """A HubError as git (and git-lfs' fallback) displays it."""
    message = exc.message
    response = HttpResponse(message + "\n", status=exc.status, content_type="text/plain; charset=utf-8")
    if exc.code:
        response["X-Error-Code"] = exc.code
    response["X-Error-Message"] = message.replace("\r", " ").replace("\n", " ")[:1000]
    for key, value in exc.headers.items():
        response[key] = value
    if exc.status == 401:
        response["WWW-Authenticate"] = REALM
    response["Cache-Control"] = "no-cache"
    return response


def _is_anonymous(user: object) -> bool:
    return not getattr(user, "is_authenticated", False)


def authorize_repo(request: HttpRequest, *, prefix: str | None, namespace: str, name: str,
                   push: bool = False, upload: bool = False) -> Repository:
    """The repository for a git/LFS request, or a HubError.

    Reads (clone, fetch, LFS download) need read access to the bytes; pushes need write
    access, or - for PR authors - the right to open pull requests (the push policy then only
    lets them move their own `refs/pr/N`). Without credentials, every refusal is a 401 so
    that git retries with them.
    """
    user, token = request_principal(request)
    anonymous = _is_anonymous(user)
    try:
        repo = get_repo_or_404(user, repo_type=_PREFIX_TYPES[prefix], namespace=namespace, name=name,
                               action="read", token=token)
        if push or upload:
            if anonymous:
                raise Unauthorized("Authentication required to push to this repository")
            if not (can_write(user, repo, token=token) or (push and can_open_pull_request(user, repo, token=token))):
                raise Forbidden("You don't have write access to this repository")
        else:
            check_file_access(user, repo, token=token)
    except (RepoNotFound, Forbidden) as exc:
        if anonymous:
            raise Unauthorized("Authentication required", headers={"WWW-Authenticate": REALM}) from exc
        raise
    return repo


def _request_body(request: HttpRequest) -> Iterator[bytes]:
    """The body as chunks, straight from the WSGI stream (Django's request.body would buffer
    it, and sees nothing of a chunked body); gzip decoded on the fly."""
    meta = request.META
    chunked = "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower()
    raw_length = meta.get("CONTENT_LENGTH") or ""
    if chunked or not raw_length:
        length = None if chunked or meta.get("wsgi.input_terminated") else 0
    else:
        try:
            length = int(raw_length)
        except ValueError:
            raise BadRequest("Invalid Content-Length") from None
        if length < 0:
            raise BadRequest("Invalid Content-Length")
    body = http_body.iter_body(meta["wsgi.input"], length)
    encoding = meta.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    if encoding in ("gzip", "x-gzip"):
        return http_body.gunzip_chunks(body)
    if encoding not in ("", "identity"):
        raise BadRequest(f"Unsupported Content-Encoding {encoding!r}")
    return body


def _no_cache(response: HttpResponse | StreamingHttpResponse) -> None:
    response["Cache-Control"] = "no-cache, max-age=0, must-revalidate"
    response["Pragma"] = "no-cache"
    response["Expires"] = "Fri, 01 Jan 1980 00:00:00 GMT"


def _timeout() -> float:
    return float(getattr(settings, "HUB_GIT_TIMEOUT", DEFAULT_GIT_TIMEOUT))


def _config(service: str) -> dict[str, str]:
    if service == "git-receive-pack":
        return smart_http.receive_pack_config(
            hooks_dir=HOOKS_DIR,
            max_input_size=int(getattr(settings, "HUB_GIT_MAX_PUSH_BYTES", DEFAULT_MAX_PUSH_BYTES)))
    return smart_http.upload_pack_config()


def _pack_cache() -> PackCacheSettings | None:
    """The cache of upload-pack's packs (repos/git/pack_cache.py); off with HUB_PACK_CACHE=0."""
    if not getattr(settings, "HUB_PACK_CACHE", True):
        return None
    return PackCacheSettings(getattr(settings, "HUB_PACK_CACHE_DIR", settings.DATA_DIR / "cache" / "packs"),
                             max_bytes=getattr(settings, "HUB_PACK_CACHE_MAX_BYTES", 2 * 1024**3),
                             ttl=getattr(settings, "HUB_PACK_CACHE_TTL", 3600.0))


@csrf_exempt
def info_refs(request: HttpRequest, namespace: str, name: str, prefix: str | None = None) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return method_not_allowed("GET")
    service = request.GET.get("service", "")
    if service not in smart_http.SERVICES:
        # No ?service=: a "dumb HTTP" client. We speak smart HTTP only.
        return text_error(Forbidden("Only the smart HTTP protocol is supported; please upgrade git"))
    try:
        repo = authorize_repo(request, prefix=prefix, namespace=namespace, name=name,
                              push=service == "git-receive-pack")
    except HubError as exc:
        return text_error(exc)
    protocol = smart_http.git_protocol(request.headers.get("Git-Protocol"))
    rpc = smart_http.start_service(repo.git_dir, service, advertise=True, protocol=protocol,
                                   config=_config(service), timeout=_timeout())
    response = StreamingHttpResponse(iter(rpc), content_type=f"application/x-{service}-advertisement")
    _no_cache(response)
    return response


def method_not_allowed(allowed: str) -> HttpResponse:
    response = text_error(HubError("Method not allowed"))
    response.status_code = 405
    response["Allow"] = allowed
    return response


def _rpc_preamble(request: HttpRequest, service: str) -> HttpResponse | None:
    if request.method != "POST":
        return method_not_allowed("POST")
    expected = f"application/x-{service}-request"
    if request.content_type != expected:
        response = text_error(BadRequest(f"Expected Content-Type {expected}"))
        response.status_code = 415
        return response
    return None


@csrf_exempt
def upload_pack(request: HttpRequest, namespace: str, name: str, prefix: str | None = None) -> HttpResponse:
    if (refused := _rpc_preamble(request, "git-upload-pack")) is not None:
        return refused
    try:
        repo = authorize_repo(request, prefix=prefix, namespace=namespace, name=name)
        body = _request_body(request)
    except HubError as exc:
        return text_error(exc)
    rpc = smart_http.start_service(
        repo.git_dir, "git-upload-pack", body=body,
        protocol=smart_http.git_protocol(request.headers.get("Git-Protocol")), timeout=_timeout(),
        pack_cache=_pack_cache())
    response = StreamingHttpResponse(iter(rpc), content_type="application/x-git-upload-pack-result")
    _no_cache(response)
    return response


def _push_stream(rpc: smart_http.GitRpc, server: HookServer, session: PushSession) -> Iterator[bytes]:
    try:
        yield from rpc
    finally:
        try:
            rpc.close()
        finally:
            server.close()
            session.close()
        if not rpc.succeeded:
            logger.info("push to %s ended without success (rc=%s, timed_out=%s, input=%r): %s", session.repo,
                        rpc.returncode, rpc.timed_out, rpc.input_error, rpc.stderr_text[-2000:])


@csrf_exempt
def receive_pack(request: HttpRequest, namespace: str, name: str, prefix: str | None = None) -> HttpResponse:
    if (refused := _rpc_preamble(request, "git-receive-pack")) is not None:
        return refused
    try:
        repo = authorize_repo(request, prefix=prefix, namespace=namespace, name=name, push=True)
        body = _request_body(request)
    except HubError as exc:
        return text_error(exc)
    if not hooks_installed():
        logger.error("git hooks in %s are not executable: refusing pushes", HOOKS_DIR)
        unavailable = HubError("Pushes are temporarily unavailable (server misconfiguration)")
        unavailable.status = 503
        return text_error(unavailable)
    # Quarantines of pushes whose receive-pack was killed (e.g. with its web worker) are
    # garbage once older than any push can live.
    reap_stale_quarantines(repo.git_dir, older_than=_timeout() + QUARANTINE_REAP_MARGIN)
    user, token = request_principal(request)
    session = PushSession(repo=repo, user=user, token=token, ip=request.META.get("REMOTE_ADDR"))
    server = HookServer(session.handle)
    try:
        rpc = smart_http.start_service(repo.git_dir, "git-receive-pack", body=body, config=_config("git-receive-pack"),
                                       extra_env=server.env, side_channels=[server], timeout=_timeout())
    except BaseException:
        server.close()
        session.close()
        raise
    response = StreamingHttpResponse(_push_stream(rpc, server, session),
                                     content_type="application/x-git-receive-pack-result")
    _no_cache(response)
    return response
