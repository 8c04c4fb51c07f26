"""git smart HTTP views: `/{ns}/{name}[.git]/info/refs`, `/git-upload-pack`,
`/git-receive-pack`, and the `datasets/` / `spaces/` forms (HF_PROTOCOL.md 10.1-10.2).

Parse -> authorize (repos.gate) -> hand the streams to `repos.git.smart_http`.

Errors are raised as HubErrors and answered by `hub.http.errors` in the "git" style
(`text/plain`, which git prints as `remote: <message>`). A request that needs credentials and
has none gets 401 + `WWW-Authenticate`, so git asks its credential helper and retries;
authenticated strangers get the same 404 as for a missing repository.
"""
from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from accounts.permissions import request_principal
from hub.exceptions import (
    Forbidden,
    InsufficientStorage,
    MethodNotAllowed,
    ServiceUnavailable,
    UnsupportedMediaType,
    out_of_space,
)
from hub.http.openapi import document
from repos.gate import Action, repo_from_request
from repos.git import smart_http
from repos.git.hooks import HOOKS_DIR, HookServer, hooks_installed
from repos.git.pack_cache import PackCacheSettings
from repos.git.quarantine import reap_stale_quarantines
from repos.models import Repository
from repos.models.repository import repo_type_for_prefix
from repos.services.push import PushSession
from repos.transport.bodies import iter_request_body

logger = logging.getLogger(__name__)

DEFAULT_GIT_TIMEOUT = 3600.0
# A push larger than this is cut off by receive-pack itself (files above 10 MiB must be LFS
# anyway, so only very large numbers of files get near it).
DEFAULT_MAX_PUSH_BYTES = 10 * 1024**3
QUARANTINE_REAP_MARGIN = 600.0
DEFAULT_PUSH_MIN_FREE_BYTES = 32 * 1024**2


def authorize_repo(request: HttpRequest, *, prefix: str | None, namespace: str, name: str,
                   push: bool = False, upload: bool = False) -> Repository:
    """The repository of a git/LFS request (`repos.gate.repo_from_request`, surface "git").

    Reads (clone, fetch, LFS download) need read access to the bytes; uploads for a ref need
    write access; pushes need write access, or - for PR authors - the right to open pull
    requests (the push policy then only lets them move their own `refs/pr/N`).
    """
    action: Action = "write" if upload else "contribute" if push else "read"
    return repo_from_request(request, repo_type=repo_type_for_prefix(prefix), namespace=namespace, name=name,
                             action=action, surface="git", files=not (push or upload))


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


def check_push_space(repo: Repository) -> None:
    """InsufficientStorage (507) when the repository's disk has less free space than
    HUB_PUSH_MIN_FREE_BYTES: refused before receive-pack starts (and before git uploads the
    pack), so a full disk never gets a half-received push."""
    minimum = int(getattr(settings, "HUB_PUSH_MIN_FREE_BYTES", DEFAULT_PUSH_MIN_FREE_BYTES))
    if minimum <= 0:
        return
    try:
        free = shutil.disk_usage(repo.git_dir).free
    except OSError:
        return  # cannot tell: receive-pack reports a real failure itself
    if free < minimum:
        logger.warning("refusing a push to %s: %d bytes free on its disk (minimum %d)", repo, free, minimum)
        raise InsufficientStorage("Insufficient storage: the server is out of disk space, pushes are refused "
                                  "until space is freed, please retry later")


def _pack_cache() -> PackCacheSettings | None:
    """The cache of upload-pack's packs (repos/git/pack_cache.py); off with HUB_PACK_CACHE=0."""
    if not getattr(settings, "HUB_PACK_CACHE", True):
        return None
    return PackCacheSettings(getattr(settings, "HUB_PACK_CACHE_DIR", settings.DATA_DIR / "cache" / "packs"),
                             max_bytes=getattr(settings, "HUB_PACK_CACHE_MAX_BYTES", 2 * 1024**3),
                             ttl=getattr(settings, "HUB_PACK_CACHE_TTL", 3600.0))


@document("GET", style="git", query=("service",))
@csrf_exempt
def info_refs(request: HttpRequest, namespace: str, name: str, prefix: str | None = None) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        raise MethodNotAllowed(str(request.method), "GET")
    service = request.GET.get("service", "")
    if service not in smart_http.SERVICES:
        # No ?service=: a "dumb HTTP" client. We speak smart HTTP only.
        raise Forbidden("Only the smart HTTP protocol is supported; please upgrade git")
    repo = authorize_repo(request, prefix=prefix, namespace=namespace, name=name, push=service == "git-receive-pack")
    if service == "git-receive-pack":
        check_push_space(repo)  # git shows this message before it sends anything
    protocol = smart_http.git_protocol(request.headers.get("Git-Protocol"))
    rpc = smart_http.start_service(repo.git_dir, service, advertise=True, protocol=protocol,
                                   config=_config(service), timeout=_timeout())
    response = StreamingHttpResponse(iter(rpc), content_type=f"application/x-{service}-advertisement")
    _no_cache(response)
    return response


def _rpc_preamble(request: HttpRequest, service: str) -> None:
    if request.method != "POST":
        raise MethodNotAllowed(str(request.method), "POST")
    expected = f"application/x-{service}-request"
    if request.content_type != expected:
        raise UnsupportedMediaType(f"Expected Content-Type {expected}")


@document("POST", style="git", body="application/x-git-upload-pack-request")
@csrf_exempt
def upload_pack(request: HttpRequest, namespace: str, name: str, prefix: str | None = None) -> HttpResponse:
    _rpc_preamble(request, "git-upload-pack")
    repo = authorize_repo(request, prefix=prefix, namespace=namespace, name=name)
    body = iter_request_body(request, gzip=True)
    rpc = smart_http.start_service(
        repo.git_dir, "git-upload-pack", body=body,
        protocol=smart_http.git_protocol(request.headers.get("Git-Protocol")), timeout=_timeout(),
        pack_cache=_pack_cache())
    response = StreamingHttpResponse(iter(rpc), content_type="application/x-git-upload-pack-result")
    _no_cache(response)
    return response


def _push_stream(rpc: smart_http.GitRpc, server: HookServer, session: PushSession) -> Iterator[bytes]:
    tail = bytearray()  # the end of the answer: receive-pack's report and last messages
    try:
        for chunk in rpc:
            tail += chunk
            del tail[:-_REPORT_TAIL]
            yield chunk
    finally:
        try:
            rpc.close()
        finally:
            server.close()
            session.close()
        _log_push_failure(rpc, session, bytes(tail))


_REPORT_TAIL = 16 * 1024
# In receive-pack's report-status (inside side-band packets, which keep it contiguous).
_UNPACK_FAILED = re.compile(rb"unpack (?!ok\n)([^\n\x00]{1,300})")


def _log_push_failure(rpc: smart_http.GitRpc, session: PushSession, report: bytes) -> None:
    """receive-pack's own failures reach the client through its report and side band (git
    prints them, `remote unpack failed`) while it exits 0: the operator is told here, and a
    full disk is an error."""
    stderr = rpc.stderr_text[-2000:]
    unpack = _UNPACK_FAILED.search(report)
    said = " ".join(filter(None, [stderr.strip(), unpack.group(1).decode("utf-8", "replace") if unpack else ""]))
    failed = unpack is not None or not rpc.succeeded
    # The report may quote pushed file names (policy messages): it counts only when unpacking failed.
    if failed and (out_of_space(OSError(stderr)) or out_of_space(OSError(report[-4000:].decode("utf-8", "replace")))):
        logger.error("push to %s failed: the disk is full (rc=%s): %s", session.repo, rpc.returncode, said)
    elif not rpc.succeeded:
        logger.warning("push to %s ended without success (rc=%s, timed_out=%s, input=%r): %s", session.repo,
                       rpc.returncode, rpc.timed_out, rpc.input_error, said)
    elif unpack:
        logger.warning("push to %s: receive-pack could not unpack the pack: %s", session.repo, said)


@document("POST", style="git", body="application/x-git-receive-pack-request")
@csrf_exempt
def receive_pack(request: HttpRequest, namespace: str, name: str, prefix: str | None = None) -> HttpResponse:
    _rpc_preamble(request, "git-receive-pack")
    repo = authorize_repo(request, prefix=prefix, namespace=namespace, name=name, push=True)
    check_push_space(repo)
    body = iter_request_body(request, gzip=True)
    if not hooks_installed():
        logger.error("git hooks in %s are not executable: refusing pushes", HOOKS_DIR)
        raise ServiceUnavailable("Pushes are temporarily unavailable (server misconfiguration)")
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
