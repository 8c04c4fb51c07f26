"""repos.transport.serving: the one helper that streams file bytes."""
from __future__ import annotations

import io

import pytest
from django.test import RequestFactory

from repos.transport.serving import _UNSATISFIABLE, content_disposition, content_type_for, parse_range, serve_blob

DATA = bytes(range(100))


@pytest.mark.parametrize(("header", "size", "expected"), [
    (None, 10, None),
    ("bytes=0-4", 10, (0, 4)),
    ("bytes=3-", 10, (3, 9)),
    ("bytes=-3", 10, (7, 9)),
    ("bytes=-30", 10, (0, 9)),
    ("bytes=5-500", 10, (5, 9)),
    ("bytes=9-9", 10, (9, 9)),
    ("bytes=10-", 10, _UNSATISFIABLE),
    ("bytes=10-20", 10, _UNSATISFIABLE),
    ("bytes=-0", 10, _UNSATISFIABLE),
    ("bytes=0-", 0, _UNSATISFIABLE),
    ("bytes=-5", 0, _UNSATISFIABLE),
    ("bytes=5-2", 10, None),
    ("bytes=0-1,3-4", 10, None),
    ("bytes=-", 10, None),
    ("bits=0-1", 10, None),
    ("bytes = 1-2", 10, (1, 2)),
])
def test_parse_range(header, size, expected):
    assert parse_range(header, size) == expected


@pytest.mark.parametrize(("name", "ctype"), [
    ("config.json", "application/json; charset=utf-8"),
    ("README.md", "text/markdown; charset=utf-8"),
    ("vocab.txt", "text/plain; charset=utf-8"),
    ("model.safetensors", "application/octet-stream"),
    ("data.tar.gz", "application/octet-stream"),
    ("noext", "application/octet-stream"),
    ("img.png", "image/png"),
    ("a/b/train.csv", "text/csv; charset=utf-8"),
])
def test_content_type_for(name, ctype):
    assert content_type_for(name) == ctype


def test_content_disposition_is_safe():
    assert content_disposition("dir/model.bin", attachment=True) == 'attachment; filename="model.bin"'
    evil = content_disposition('a"\r\nSet-Cookie: x.txt', attachment=True)
    assert "\r" not in evil and "\n" not in evil and evil.count('"') == 2
    assert "filename*=UTF-8''a%22%0D%0ASet-Cookie%3A%20x.txt" in evil
    uni = content_disposition("modèle.bin", attachment=False)
    assert uni == "inline; filename=\"mod_le.bin\"; filename*=UTF-8''mod%C3%A8le.bin"


def _serve(method="get", headers=None, **kwargs):
    request = getattr(RequestFactory(), method)("/x", headers=headers or {})
    params = {"size": len(DATA), "etag": "abc", "filename": "f.bin", "extra_headers": {"X-Repo-Commit": "c" * 40}}
    params.update(kwargs)
    return serve_blob(request, **params)


def _content(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.parametrize("source", ["data", "opener"])
def test_serve_full_and_partial(source):
    kwargs = {"data": DATA} if source == "data" else {"opener": lambda: io.BytesIO(DATA)}
    full = _serve(**kwargs)
    assert full.status_code == 200 and _content(full) == DATA
    assert full["Content-Length"] == full["X-Linked-Size"] == "100"
    assert full["ETag"] == full["X-Linked-Etag"] == '"abc"'
    assert full["X-Repo-Commit"] == "c" * 40
    part = _serve(headers={"Range": "bytes=10-19"}, **kwargs)
    assert part.status_code == 206 and _content(part) == DATA[10:20]
    assert part["Content-Range"] == "bytes 10-19/100" and part["Content-Length"] == "10"
    assert part["X-Linked-Size"] == "100"


def test_head_opens_nothing_and_keeps_length():
    def opener():
        raise AssertionError("HEAD must not open the file")

    r = _serve("head", opener=opener)
    assert r.status_code == 200 and r.content == b"" and r["Content-Length"] == "100"
    r = _serve("head", headers={"Range": "bytes=-10"}, opener=opener)
    assert r.status_code == 206 and r["Content-Length"] == "10" and r["Content-Range"] == "bytes 90-99/100"


def test_unsatisfiable_range():
    r = _serve(headers={"Range": "bytes=100-"}, data=DATA)
    assert r.status_code == 416
    assert r["Content-Range"] == "bytes */100" and r["X-Repo-Commit"] == "c" * 40


def test_empty_file():
    r = _serve(size=0, data=b"")
    assert r.status_code == 200 and r["Content-Length"] == "0" and r.content == b""


@pytest.mark.django_db  # closing a response fires request_finished, which touches connections
def test_streamed_file_is_closed_and_bounded():
    f = io.BytesIO(DATA)
    r = _serve(headers={"Range": "bytes=95-"}, opener=lambda: f)
    assert _content(r) == DATA[95:]
    r.close()
    assert f.closed


def test_needs_a_source():
    with pytest.raises(ValueError):
        _serve()
