"""A large request body of known length, received straight from gunicorn's socket.

gunicorn's `wsgi.input` hands out each received byte after about five copies (its unreader's
buffer, `getvalue()`, slices, the body's own buffer and slices again); for an LFS upload that
was more CPU than hashing and writing the object (bench/upload.py). When the input is
gunicorn's `Body` over a `LengthReader` over a socket, this reads what gunicorn already
buffered and then `recv_into`s one reused buffer: one copy, like reading a file. Any other
server, a chunked body or a gunicorn whose internals changed gets the portable reader.
"""
from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from repos.git import http_body


def iter_upload_body(stream: Any, length: int | None, *, chunk_size: int) -> Iterator[bytes | memoryview]:
    """The body's bytes in chunks of at most `chunk_size`; raises `http_body.IncompleteBody`
    when the client sends fewer than `length`.

    A chunk may be a view of a buffer reused for the next one: consume it (hash, write)
    before asking for the next.
    """
    parts = _gunicorn_parts(stream) if length is not None else None
    if parts is None:
        yield from http_body.iter_body(stream, length, chunk_size=chunk_size)
        return
    body, reader, unreader, sock = parts
    assert length is not None
    # Body and unreader buffers come first, in that order; the unreader may also hold the
    # start of a pipelined next request, which stays there.
    held = body.buf.getvalue()
    body.buf = io.BytesIO()
    buffered = unreader.take_buffered()
    mine, theirs = buffered[:reader.length], buffered[reader.length:]
    if theirs:
        unreader.unread(theirs)
    reader.length -= len(mine)
    remaining = length
    for early in (held, mine):
        if early:
            early = early[:remaining]
            remaining -= len(early)
            yield early
    buf = bytearray(chunk_size)
    view = memoryview(buf)
    try:
        while remaining > 0:
            n = sock.recv_into(view, min(chunk_size, remaining, reader.length))
            if n == 0:
                body.failed = True  # the connection cannot carry another request
                raise http_body.IncompleteBody(f"request body ended {remaining} bytes early")
            reader.length -= n
            remaining -= n
            yield view[:n]
    except OSError:
        body.failed = True
        raise


def _gunicorn_parts(stream: Any) -> tuple[Any, Any, Any, Any] | None:
    """(body, length reader, socket unreader, socket) when `stream` is gunicorn's plain
    body of known length, else None."""
    if type(stream).__module__ != "gunicorn.http.body" or type(stream).__name__ != "Body":
        return None
    reader = getattr(stream, "reader", None)
    if type(reader).__name__ != "LengthReader":
        return None
    unreader = getattr(reader, "unreader", None)
    if type(unreader).__name__ != "SocketUnreader":
        return None
    sock = getattr(unreader, "sock", None)
    needed = (isinstance(getattr(stream, "buf", None), io.BytesIO), isinstance(getattr(reader, "length", None), int),
              callable(getattr(unreader, "take_buffered", None)), callable(getattr(unreader, "unread", None)),
              callable(getattr(sock, "recv_into", None)))
    return (stream, reader, unreader, sock) if all(needed) else None
