"""The one helper that turns file bytes into an HTTP response (HF_PROTOCOL.md §5.2, §5.5).

Used by `/resolve/` and the HTML raw view. Guarantees, for every caller:
- HEAD and GET carry identical headers; HEAD sets Content-Length itself (a bodiless
  HttpResponse would otherwise get `Content-Length: 0` from CommonMiddleware, which clients
  read as the file size) and opens nothing.
- A single `Range` is honoured: 206 with Content-Range, end clamped to the last byte, 416 only
  when the start lies at or past the end. Multiple ranges or a malformed header: the full 200
  (allowed by RFC 9110, and what the client handles by restarting).
- Large files stream from an open file (sendfile when the server offers it), never read whole.
- User files are inert in the hub's origin: nosniff, a sandboxing CSP, and `attachment` for
  every type but a short list of passive ones (SECURITY.md T20).
"""
from __future__ import annotations

import io
import mimetypes
import posixpath
import re
from collections.abc import Callable, Mapping
from typing import BinaryIO
from urllib.parse import quote

from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase

from hub.http.errors import error_response, header_value
from repos.transport.read_ahead import BLOCK_SIZE, ReadAhead

Opener = Callable[[], BinaryIO]

_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")
_UNSATISFIABLE = (-1, -1)

# A fresh MimeTypes uses Python's built-in table only, so the guess does not depend on the
# host's /etc/mime.types.
_MIME = mimetypes.MimeTypes()
for _type, _ext in (("text/markdown", ".md"), ("application/yaml", ".yaml"), ("application/yaml", ".yml"),
                    ("application/jsonl", ".jsonl"), ("text/x-python", ".py"), ("application/octet-stream", ".bin"),
                    ("application/octet-stream", ".safetensors"), ("application/vnd.apache.parquet", ".parquet")):
    _MIME.add_type(_type, _ext)

_TEXT_APPLICATION_TYPES = {"application/json", "application/jsonl", "application/yaml", "application/xml",
                           "application/javascript", "application/x-sh", "application/toml"}
# The only types a browser may display inline from our origin: passive ones, which it shows
# as text or as a plain image/media element and never runs. Everything else - HTML, SVG, XML,
# scripts, PDF, and any type we do not know - is sent as an attachment (SECURITY.md T20): a
# deny-list of active types would miss the next one. With nosniff and the sandboxing CSP
# below, even a file that lies about its type stays inert.
_INLINE_TYPES = {"text/plain", "text/markdown", "text/csv", "text/tab-separated-values", "text/x-python",
                 "application/json", "application/jsonl", "application/yaml", "application/toml",
                 "image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/avif",
                 "audio/mpeg", "audio/wav", "audio/x-wav", "audio/ogg", "audio/flac", "video/mp4", "video/webm"}
_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
_UNSAFE_FILENAME_CHARS = re.compile(r'[\x00-\x1f\x7f"\\;]|[^\x00-\x7f]')
# File names in Content-Disposition are cut to this many characters (keeping the extension):
# a 5000-character path of non-ASCII characters would otherwise become a 45 KB header.
MAX_FILENAME_CHARS = 255


def content_type_for(filename: str) -> str:
    """The exact type of a file name, with charset for text; octet-stream when unknown or
    compressed (we never set Content-Encoding: the bytes are the file)."""
    ctype, encoding = _MIME.guess_type(filename, strict=False)
    if ctype is None or encoding is not None:
        return "application/octet-stream"
    if ctype.startswith("text/") or ctype in _TEXT_APPLICATION_TYPES:
        return f"{ctype}; charset=utf-8"
    return ctype


def content_disposition(filename: str, *, attachment: bool) -> str:
    """RFC 6266: an ASCII `filename` fallback with unsafe characters replaced, plus
    `filename*` (UTF-8, percent-encoded) when the name needed changes."""
    name = posixpath.basename(filename) or "download"
    if len(name) > MAX_FILENAME_CHARS:
        stem, ext = posixpath.splitext(name)
        ext = ext[:16]
        name = stem[:MAX_FILENAME_CHARS - len(ext)] + ext
    fallback = _UNSAFE_FILENAME_CHARS.sub("_", name)
    value = f'{"attachment" if attachment else "inline"}; filename="{fallback}"'
    if fallback != name:
        value += f"; filename*=UTF-8''{quote(name, safe='')}"
    return value


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """`(start, end)` inclusive for a satisfiable single range, `_UNSATISFIABLE`, or None to
    serve the whole file (no header, several ranges, or a header we do not understand)."""
    if not header:
        return None
    m = _RANGE_RE.match(header.replace(" ", ""))
    if m is None:
        return None
    first, last = m.groups()
    if first == "":
        if last == "":
            return None
        suffix = int(last)
        if suffix == 0 or size == 0:
            return _UNSATISFIABLE
        return max(0, size - suffix), size - 1
    start = int(first)
    end = size - 1 if last == "" else int(last)
    if last != "" and end < start:
        return None  # invalid range-spec: ignore the header
    if start >= size:
        return _UNSATISFIABLE
    return start, min(end, size - 1)


class _BoundedReader:
    """Reads at most `length` bytes of an open file positioned at the range start. Exposes
    `fileno` so a WSGI server can sendfile exactly Content-Length bytes from the offset."""

    def __init__(self, f: BinaryIO, length: int) -> None:
        self._f = f
        self._left = length

    def read(self, n: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        if n is None or n < 0 or n > self._left:
            n = self._left
        chunk = self._f.read(n)
        self._left -= len(chunk)
        return chunk

    def fileno(self) -> int:
        return self._f.fileno()

    def close(self) -> None:
        self._f.close()


class _BlobResponse(FileResponse):
    block_size = 256 * 1024


class _ReadAheadResponse(FileResponse):
    block_size = BLOCK_SIZE


def _has_fileno(f: BinaryIO) -> bool:
    try:
        f.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        return False
    return True


def _file_response(f: BinaryIO, length: int, *, status: int, content_type: str) -> FileResponse:
    """The body: `length` bytes of `f` from its position. A file with a descriptor is left to
    the server's sendfile; one without (the plaintext of an encrypted object) is read ahead in
    a pool thread while the server sends, when it spans more than one block."""
    if length > BLOCK_SIZE and not _has_fileno(f):
        return _ReadAheadResponse(ReadAhead(f, length), status=status, content_type=content_type)
    return _BlobResponse(_BoundedReader(f, length), status=status, content_type=content_type)


def serve_blob(
    request: HttpRequest,
    *,
    size: int,
    etag: str,
    filename: str,
    opener: Opener | None = None,
    data: bytes | None = None,
    content_type: str | None = None,
    attachment: bool = False,
    extra_headers: Mapping[str, str] | None = None,
) -> HttpResponseBase:
    """Respond with a file of `size` bytes whose content id is `etag` (unquoted).

    Give the bytes as `data` (small git blobs) or an `opener` returning a binary file
    (called only for a GET that sends a body). `extra_headers` (e.g. `X-Repo-Commit`) go on
    every response, errors included.
    """
    if opener is None and data is None:
        raise ValueError("serve_blob needs `data` or `opener`")
    extra = dict(extra_headers or {})
    quoted = f'"{etag}"'
    rng = parse_range(request.headers.get("Range"), size)
    if_range = request.headers.get("If-Range")
    if rng is not None and if_range and if_range.strip() != quoted:
        rng = None  # the client's partial copy is of another version: send it all
    if rng == _UNSATISFIABLE:
        return error_response(416, f"Requested range not satisfiable (size {size})", request=request,
                              headers={**extra, "Content-Range": f"bytes */{size}", "Accept-Ranges": "bytes"})

    start, end = rng if rng is not None else (0, size - 1)
    length = max(0, end - start + 1)
    status = 206 if rng is not None else 200
    ctype = content_type or content_type_for(filename)
    response: HttpResponseBase
    if request.method == "HEAD":
        response = HttpResponse(b"", status=status, content_type=ctype)
    elif data is not None:
        response = HttpResponse(data[start:start + length], status=status, content_type=ctype)
    else:
        assert opener is not None
        f = opener()
        try:
            f.seek(start)
        except BaseException:
            f.close()
            raise
        response = _file_response(f, length, status=status, content_type=ctype)

    active = ctype.split(";", 1)[0].strip().lower() not in _INLINE_TYPES
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = quoted
    response["X-Linked-Etag"] = quoted
    response["X-Linked-Size"] = str(size)
    response["Content-Disposition"] = header_value(content_disposition(filename, attachment=attachment or active),
                                                   limit=8000)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = _CSP
    if rng is not None:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    for key, value in extra.items():
        response[key] = header_value(value, limit=8000)
    return response


def serve_range(request: HttpRequest, *, opener: Opener, start: int, end: int, total: int,
                content_type: str = "application/octet-stream") -> HttpResponseBase:
    """206 with bytes `[start, end)` of a resource of `total` bytes; the caller decided the
    range (and that it is allowed). `opener` returns a reader positioned at `start` that
    yields at most those bytes (sendfile-able when it has `fileno`)."""
    length = end - start
    response: HttpResponseBase
    if request.method == "HEAD":
        response = HttpResponse(b"", status=206, content_type=content_type)
    else:
        response = _file_response(opener(), length, status=206, content_type=content_type)
    response["Content-Length"] = str(length)
    response["Content-Range"] = f"bytes {start}-{end - 1}/{total}"
    response["Accept-Ranges"] = "bytes"
    response["X-Content-Type-Options"] = "nosniff"
    return response
