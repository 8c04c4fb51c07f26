"""Streaming parser of the commit NDJSON payload (HF_PROTOCOL.md §6.5).

The body is read line by line from the request stream, never through `request.body`: a
commit may inline up to ~1.3 GB of base64. Each line is capped (a regular file is at most
10 MiB, so its base64 line is at most ~14 MiB), the whole body is capped, and each operation
is handed to the service as soon as it is parsed, so memory holds one line at a time.
"""
from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from typing import Any, Protocol

from django.conf import settings
from django.http import HttpRequest

from hub.exceptions import BadRequest, PayloadTooLarge
from hub.http.json_body import parse_json
from repos.policy.upload import TOO_LARGE_MESSAGE
from repos.services.commits import (
    AddFile,
    AddLfsFile,
    CommitHeader,
    CommitOperation,
    DeleteFile,
    DeleteFolder,
)

# base64 of a 10 MiB file plus the JSON around it, with room for long paths.
MAX_LINE_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_BODY_BYTES = 2 * 1024**3

OPERATION_KEYS = ("file", "lfsFile", "deletedFile", "deletedFolder")


class _LineReader(Protocol):
    def readline(self, size: int = ..., /) -> bytes: ...


def request_stream(request: HttpRequest) -> _LineReader:
    """The request body as a stream, including chunked bodies.

    Django sizes its stream by CONTENT_LENGTH (0 when absent), so a chunked body would read
    as empty; gunicorn marks such input as self-terminating and it is read directly.
    """
    meta = request.META
    if not meta.get("CONTENT_LENGTH") and meta.get("wsgi.input_terminated"):
        return meta["wsgi.input"]
    return request


def _lines(stream: _LineReader, *, max_line: int, max_body: int) -> Iterator[tuple[int, bytes]]:
    total = 0
    number = 0
    while True:
        line = stream.readline(max_line + 1)
        if not line:
            return
        number += 1
        total += len(line)
        if total > max_body:
            raise PayloadTooLarge(f"The commit payload is larger than {max_body} bytes")
        if len(line) > max_line and not line.endswith(b"\n"):
            raise BadRequest(f"Line {number} of the commit payload is too long. {TOO_LARGE_MESSAGE}")
        line = line.strip()
        if line:
            yield number, line


def _load(number: int, line: bytes) -> dict[str, Any]:
    # Bounded in depth like every JSON body (a line of `[[[[` must not recurse deeply).
    item = parse_json(line, what=f"Line {number} of the commit payload")
    if not isinstance(item, dict) or not isinstance(item.get("key"), str) or not isinstance(item.get("value"), dict):
        raise BadRequest(f"Line {number} of the commit payload must be an object with 'key' and 'value'")
    return item


def _string(value: dict[str, Any], name: str, number: int, *, optional: bool = False) -> str | None:
    field = value.get(name)
    if field is None and optional:
        return None
    if not isinstance(field, str):
        raise BadRequest(f"Line {number}: '{name}' must be a string")
    return field


def _header(number: int, item: dict[str, Any]) -> CommitHeader:
    if item["key"] != "header":
        raise BadRequest("The first line of the commit payload must be the header")
    value = item["value"]
    summary = _string(value, "summary", number)
    assert summary is not None
    if not summary.strip():
        raise BadRequest("The commit summary (message) cannot be empty")
    description = _string(value, "description", number, optional=True) or ""
    parent = _string(value, "parentCommit", number, optional=True)
    return CommitHeader(summary=summary, description=description, parent_commit=parent)


def _operation(number: int, item: dict[str, Any]) -> CommitOperation:
    key, value = item["key"], item["value"]
    path = _string(value, "path", number)
    assert path is not None
    if key == "file":
        encoding = value.get("encoding", "base64")
        if encoding != "base64":
            raise BadRequest(f"Line {number}: unsupported encoding {encoding!r}")
        content = _string(value, "content", number)
        assert content is not None
        try:
            data = base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadRequest(f"Line {number}: invalid base64 content for {path!r}") from exc
        return AddFile(path=path, content=data)
    if key == "lfsFile":
        algo = value.get("algo", "sha256")
        if algo != "sha256":
            raise BadRequest(f"Line {number}: unsupported hash algorithm {algo!r}")
        oid = _string(value, "oid", number)
        assert oid is not None
        size = value.get("size")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
            raise BadRequest(f"Line {number}: 'size' must be a non-negative integer")
        return AddLfsFile(path=path, oid=oid, size=size)
    if key == "deletedFile":
        return DeleteFile(path=path)
    if key == "deletedFolder":
        return DeleteFolder(path=path)
    if key == "header":
        raise BadRequest(f"Line {number}: only the first line may be the header")
    raise BadRequest(f"Line {number}: unknown operation key {key!r} (expected one of {', '.join(OPERATION_KEYS)})")


def parse_commit_payload(stream: _LineReader, *, max_line: int = MAX_LINE_BYTES,
                         max_body: int | None = None) -> tuple[CommitHeader, Iterator[CommitOperation]]:
    """Read the header now; return it with a lazy iterator of the operations that follow.

    Errors in later lines surface while iterating (as HubErrors), which the commit service
    turns into "nothing changed".
    """
    if max_body is None:
        max_body = getattr(settings, "HUB_COMMIT_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)
    lines = _lines(stream, max_line=max_line, max_body=max_body)
    first = next(lines, None)
    if first is None:
        raise BadRequest("Empty commit payload: the header line is missing")
    header = _header(first[0], _load(*first))

    def operations() -> Iterator[CommitOperation]:
        for number, line in lines:
            yield _operation(number, _load(number, line))

    return header, operations()
