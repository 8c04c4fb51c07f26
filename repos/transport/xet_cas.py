"""The Xet CAS routes, under `{PUBLIC_URL}/xet` (the `casUrl` of the token endpoints; XET.md §3).

Parse, authorize (a CAS token: `repos.services.xet.cas_principal`), call the service, answer.
Every route but the fetch URLs and telemetry needs `Authorization: Bearer <CAS token>`; 401 is
fatal for hf_xet (it does not retry), 403 on a fetch URL makes it ask for fresh URLs.

Bodies are streamed through `repos.transport.bodies`, never `request.body`. POSTs answered with
a 404 on purpose (`xorb-grants`, `v2/shards`: the client then falls back to the v1 routes) read
their body first: hf_xet streams it, and an answer before the end reads as a broken connection,
which it retries instead of falling back (XET.md §3.2).
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.views.decorators.csrf import csrf_exempt

from hub.exceptions import BadRequest, Forbidden, MethodNotAllowed, NotFound, PayloadTooLarge, RangeNotSatisfiable
from hub.http.openapi import document
from repos import objects
from repos.objects import xet as xet_store
from repos.selectors.xet import file_segments
from repos.services import xet as cas
from repos.transport.bodies import IncompleteBody, body_length, iter_request_body
from repos.transport.serving import serve_range
from repos.xet import errors as xet_errors
from repos.xet.fetch_signing import check_fetch, fetch_url
from repos.xet.hashes import MerkleHash
from repos.xet.http_range import parse_range
from repos.xet.reconstruction import plan_reconstruction
from repos.xet.xorb import DEFAULT_LIMITS

# Bodies read only to be thrown away (404 fallbacks, telemetry) stop counting here.
_DRAIN_LIMIT = 128 * 1024 * 1024
_TELEMETRY_LIMIT = 1024 * 1024
_READ_SIZE = 1024 * 1024


class _BodyStream:
    """The request body as a file-like `read(n)` for the streaming parsers of `repos.xet`."""

    def __init__(self, chunks: Iterator[bytes | memoryview]) -> None:
        self._chunks = chunks
        self._buf = bytearray()
        self._pos = 0

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._buf) - self._pos < n:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            if self._pos:
                del self._buf[:self._pos]
                self._pos = 0
            self._buf += chunk
        end = len(self._buf) if n < 0 else self._pos + n
        data = bytes(self._buf[self._pos:end])
        self._pos += len(data)
        return data


def _hash(text: str) -> MerkleHash:
    try:
        return MerkleHash.from_hex(text)
    except xet_errors.InvalidHashString:
        raise BadRequest("Invalid Xet hash") from None


def _drain(request: HttpRequest, limit: int = _DRAIN_LIMIT) -> int:
    total = 0
    try:
        for chunk in iter_request_body(request, chunk_size=_READ_SIZE):
            total += len(chunk)
            if total > limit:
                break
    except IncompleteBody:
        pass
    return total


def _json(data: object, status: int = 200) -> HttpResponse:
    return HttpResponse(json.dumps(data), status=status, content_type="application/json")


def _require(request: HttpRequest, method: str) -> None:
    if request.method != method:
        raise MethodNotAllowed(str(request.method), method)


# --------------------------------------------------------------------------- uploads


@document("POST")
@csrf_exempt
def xorb_grant(request: HttpRequest, prefix: str, xorb: str) -> HttpResponse:
    """`POST /v1/xorb-grants/{prefix}/{xorb}` (hf-xet >= 1.8): not offered, so the client
    uploads the xorb to us directly (after checking its token, so the 404 is no oracle)."""
    _require(request, "POST")
    cas.cas_principal(request.headers.get("Authorization"), scope="write")
    _drain(request)
    raise NotFound("Upload grants are not offered; upload the xorb directly")


@document("POST", body="application/octet-stream")
@csrf_exempt
def xorb_upload(request: HttpRequest, prefix: str, xorb: str) -> HttpResponse:
    """`POST /v1/xorbs/{prefix}/{xorb}`: any prefix (clients send `default`)."""
    _require(request, "POST")
    principal = cas.cas_principal(request.headers.get("Authorization"), scope="write")
    expected = _hash(xorb)
    length = body_length(request)
    if length is not None and length > DEFAULT_LIMITS.max_serialized_bytes:
        raise PayloadTooLarge(f"A xorb is at most {DEFAULT_LIMITS.max_serialized_bytes} bytes")
    try:
        stream = _BodyStream(iter_request_body(request, chunk_size=_READ_SIZE, zero_copy=True))
        inserted = cas.xorb_upload(principal=principal, xorb=expected, source=stream)  # type: ignore[arg-type]
    except xet_errors.XetError as exc:
        raise cas.as_hub_error(exc) from None
    except IncompleteBody as exc:
        raise BadRequest(f"Upload incomplete: {exc}") from None
    return _json({"was_inserted": inserted})


@document("POST", body="application/octet-stream")
@csrf_exempt
def shard_upload_v2(request: HttpRequest) -> HttpResponse:
    """`POST /v2/shards` (hf-xet >= 1.6): not offered; the client falls back to v1, which has
    no read timeout while we reconstruct and hash the files (XET.md §3.3)."""
    _require(request, "POST")
    cas.cas_principal(request.headers.get("Authorization"), scope="write")
    _drain(request)
    raise NotFound("Use POST /v1/shards")


@document("POST", body="application/octet-stream")
@csrf_exempt
def shard_upload(request: HttpRequest) -> HttpResponse:
    """`POST /v1/shards`: verify and register; `{"result": 1}` (new) or `0` (known)."""
    _require(request, "POST")
    principal = cas.cas_principal(request.headers.get("Authorization"), scope="write")
    length = body_length(request)
    if length is not None and length > cas.SHARD_LIMITS.max_bytes:
        raise PayloadTooLarge(f"A shard is at most {cas.SHARD_LIMITS.max_bytes} bytes")
    try:
        result = cas.shard_register(principal=principal,
                                    body=(bytes(c) for c in iter_request_body(request, chunk_size=_READ_SIZE)))
    except xet_errors.XetError as exc:
        raise cas.as_hub_error(exc) from None
    except IncompleteBody as exc:
        raise BadRequest(f"Upload incomplete: {exc}") from None
    return _json({"result": result})


@document("POST")
@csrf_exempt
def telemetry(request: HttpRequest) -> HttpResponse:
    """`POST /v1/telemetry` (hf-xet >= 1.7): accepted from CAS token holders and dropped."""
    _require(request, "POST")
    cas.cas_principal(request.headers.get("Authorization"), scope="read")
    _drain(request, _TELEMETRY_LIMIT)
    return _json({})


# --------------------------------------------------------------------------- reads


@document("GET")
@csrf_exempt
def chunk_dedup(request: HttpRequest, prefix: str, chunk: str) -> HttpResponse:
    """`GET /v1/chunks/{prefix}/{chunk}`: a dedup answer shard, or 404 (no match)."""
    _require(request, "GET")
    principal = cas.cas_principal(request.headers.get("Authorization"), scope="read")
    body = cas.dedup_answer(principal=principal, chunk=_hash(chunk))
    if body is None:
        raise NotFound("No xorb holds this chunk")
    return HttpResponse(body, content_type="application/octet-stream")


@document("GET")
@csrf_exempt
def reconstruction(request: HttpRequest, version: str, file_hash: str) -> HttpResponse:
    """`GET /v1|v2/reconstructions/{file}` with an optional `Range`: the terms of a file
    registered for the token's repository (any other file: 404, never an existence oracle),
    with fetch URLs signed for exactly the byte ranges it needs."""
    _require(request, "GET")
    principal = cas.cas_principal(request.headers.get("Authorization"), scope="read")
    segments = file_segments(repo=principal.repo, file_hash=_hash(file_hash).hex())
    if segments is None:
        raise NotFound("File not found")
    expires_at = int(time.time()) + int(settings.HUB_XET_FETCH_TTL)
    base, secret, reader = cas.cas_url(), cas.fetch_secret(), principal.reader

    def url_for(xorb: MerkleHash, start: int, end: int) -> str:
        return fetch_url(base, secret=secret, xorb=xorb, start=start, end=end, expires_at=expires_at, reader=reader)

    try:
        size = sum(s.unpacked_bytes for s in segments)
        byte_range = parse_range(request.headers.get("Range"), size=size)
        plan = plan_reconstruction(segments, lookup=xet_store.xorb_info, url_for=url_for, byte_range=byte_range)
    except xet_errors.RangeNotSatisfiable:
        raise RangeNotSatisfiable(headers={"Content-Range": f"bytes */{size}"}) from None
    except xet_errors.MalformedRange as exc:
        raise BadRequest(str(exc)) from None
    except xet_errors.XetVerificationError:
        raise NotFound("File not found") from None  # storage lost a xorb: unreadable, not a 500
    return _json(plan.to_v2_json() if version == "v2" else plan.to_v1_json())


@document("GET")
@csrf_exempt
def fetch(request: HttpRequest, xorb: str) -> HttpResponseBase:
    """`GET /v1/fetch/{xorb}?r=&exp=&u=&sig=`: the URL is the credential, bound to one byte
    range of one xorb until it expires; a `Range` outside it, or any tampering, is 403."""
    if request.method not in ("GET", "HEAD"):
        raise MethodNotAllowed(str(request.method), "GET")
    try:
        grant = check_fetch(cas.fetch_secret(), xorb_hex=xorb, query=request.GET.dict(),
                            range_header=request.headers.get("Range"), now=int(time.time()))
    except xet_errors.FetchDenied as exc:
        raise Forbidden(str(exc)) from None
    info = xet_store.xorb_info(grant.xorb)
    if info is None:
        raise NotFound("Xorb not found")
    if grant.end > info.serialized_length:  # never the footer
        raise RangeNotSatisfiable(headers={"Content-Range": f"bytes */{info.serialized_length}"})
    try:
        return serve_range(request, opener=lambda: xet_store.xorb_open_range(grant.xorb, grant.start, grant.end),
                           start=grant.start, end=grant.end, total=info.serialized_length)
    except objects.ObjectNotFound:
        raise NotFound("Xorb not found") from None
