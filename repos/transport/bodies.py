"""Request bodies of the transport and API views: THE Content-Length / chunked reader.

Django's `request.body` buffers a whole body in memory and sees nothing of a chunked one (it
sizes its stream by CONTENT_LENGTH), so packs, LFS objects, commits and JSON documents are read
from the WSGI input here: `body_length` decides how long a body is, `iter_request_body`
streams it (through gunicorn's socket directly when it can, `upload_body`), `read_json_body`
reads a bounded JSON document, `line_reader` hands the NDJSON commit parser a stream.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from django.http import HttpRequest

from hub.exceptions import BadRequest, PayloadTooLarge
from hub.http.json_body import parse_json
from repos.git import http_body
from repos.transport.upload_body import iter_upload_body

IncompleteBody = http_body.IncompleteBody


class LineReader(Protocol):
    def readline(self, size: int = ..., /) -> bytes: ...


def body_length(request: HttpRequest) -> int | None:
    """The body's length from Content-Length; None for a self-terminating body (chunked, or
    a server that marks its input terminated); 0 when the request announces no body. 400 on
    a malformed or negative Content-Length."""
    meta = request.META
    if "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower():
        return None
    raw = meta.get("CONTENT_LENGTH") or ""
    if not raw:
        return None if meta.get("wsgi.input_terminated") else 0
    try:
        length = int(raw)
    except ValueError:
        raise BadRequest("Invalid Content-Length") from None
    if length < 0:
        raise BadRequest("Invalid Content-Length")
    return length


def iter_request_body(request: HttpRequest, *, chunk_size: int = http_body.CHUNK_SIZE, gzip: bool = False,
                      zero_copy: bool = False) -> Iterator[bytes | memoryview]:
    """The body in chunks of at most `chunk_size`, straight from the WSGI stream; with `gzip`,
    a `Content-Encoding: gzip` body is decoded on the fly (bounded, see `http_body`). Raises
    IncompleteBody when the client sends less than it announced.

    With `zero_copy`, a body of known length is received from gunicorn's socket directly
    (`upload_body`) and a chunk may be a view of a buffer reused for the next one: consume it
    before asking for the next.
    """
    length = body_length(request)
    stream = request.META["wsgi.input"]
    encoding = request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    if encoding not in ("", "identity") and not (gzip and encoding in ("gzip", "x-gzip")):
        raise BadRequest(f"Unsupported Content-Encoding {encoding!r}")
    if encoding in ("gzip", "x-gzip"):
        return http_body.gunzip_chunks(http_body.iter_body(stream, length, chunk_size=chunk_size))
    if zero_copy:
        return iter_upload_body(stream, length, chunk_size=chunk_size)
    return http_body.iter_body(stream, length, chunk_size=chunk_size)


def read_json_body(request: HttpRequest, *, limit: int) -> Any:
    """The JSON document of the body, at most `limit` bytes and bounded in depth
    (`hub.http.json_body`); 413 when larger, 400 when not JSON."""
    length = body_length(request)
    if length is not None and length > limit:
        raise PayloadTooLarge("Request body too large")
    data = bytearray()
    try:
        for chunk in http_body.iter_body(request.META["wsgi.input"], length):
            data += chunk
            if len(data) > limit:
                raise PayloadTooLarge("Request body too large")
    except IncompleteBody as exc:
        raise BadRequest(f"Request body incomplete: {exc}") from None
    return parse_json(bytes(data))


def line_reader(request: HttpRequest) -> LineReader:
    """The body as a stream with `readline`, including chunked bodies (for which Django's own
    stream reads as empty)."""
    meta = request.META
    if not meta.get("CONTENT_LENGTH") and meta.get("wsgi.input_terminated"):
        return meta["wsgi.input"]  # type: ignore[no-any-return]
    return request
