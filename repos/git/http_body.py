"""Request bodies of git and LFS transfers, read as a stream (pure: no Django).

Django's `request.body` would buffer a whole pack or object in memory and sees nothing of a
chunked body (it sizes its stream by CONTENT_LENGTH), so transfer views read the WSGI input
directly with these helpers.
"""
from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from typing import Protocol

CHUNK_SIZE = 64 * 1024
# Fetch requests (want/have negotiation) are small; this bounds a gzip bomb.
MAX_GUNZIP_BYTES = 256 * 1024 * 1024


class BodyError(Exception):
    """A request body that cannot be used (malformed encoding, too large once decoded)."""


class IncompleteBody(BodyError):
    """The client sent fewer bytes than it announced (it disconnected mid-upload)."""


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


def iter_body(stream: Readable, length: int | None, *, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Read a request body from a WSGI input stream in chunks.

    `length` is the Content-Length; None means the server de-chunked a
    `Transfer-Encoding: chunked` body and the stream ends at EOF (gunicorn sets
    `wsgi.input_terminated`). Raises IncompleteBody when the stream ends early.
    """
    read = stream.read
    if length is None:
        while True:
            chunk = read(chunk_size)
            if not chunk:
                return
            yield bytes(chunk)
    remaining = length
    while remaining > 0:
        chunk = read(min(chunk_size, remaining))
        if not chunk:
            raise IncompleteBody(f"request body ended {remaining} bytes early")
        remaining -= len(chunk)
        yield bytes(chunk)


def gunzip_chunks(chunks: Iterable[bytes], *, limit: int = MAX_GUNZIP_BYTES) -> Iterator[bytes]:
    """Decode a gzip stream chunk by chunk; never more than CHUNK_SIZE is inflated at once
    and at most `limit` bytes overall (a small body must not inflate without bound)."""
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    total = 0

    def emit(data: bytes) -> bytes:
        nonlocal total
        total += len(data)
        if total > limit:
            raise BodyError(f"decompressed request body exceeds {limit} bytes")
        return data

    try:
        for chunk in chunks:
            data = decoder.decompress(chunk, CHUNK_SIZE)
            if data:
                yield emit(data)
            while decoder.unconsumed_tail:
                data = decoder.decompress(decoder.unconsumed_tail, CHUNK_SIZE)
                if data:
                    yield emit(data)
        data = decoder.flush()
        if data:
            yield emit(data)
    except zlib.error as exc:
        raise BodyError(f"invalid gzip request body: {exc}") from None
    if not decoder.eof:
        raise BodyError("truncated gzip request body")
