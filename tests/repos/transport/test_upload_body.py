"""`repos.transport.upload_body`: an upload body read straight from gunicorn's socket must give exactly
the body's bytes, leave a pipelined next request in place, and fail like the portable reader."""
from __future__ import annotations

import hashlib
import http.client
import io
import json
import socket
import threading
from urllib.parse import urlsplit

import pytest
from gunicorn.http.body import Body, LengthReader
from gunicorn.http.unreader import SocketUnreader

from repos.git.http_body import IncompleteBody
from repos.transport.upload_body import _gunicorn_parts, iter_upload_body


def gunicorn_body(payload: bytes, *, length: int, already_buffered: bytes = b"", close: bool = True):
    """gunicorn's own body reader over a socket whose peer sends `payload` (what follows the
    headers); `already_buffered` is what gunicorn read together with the headers."""
    ours, peer = socket.socketpair()
    unreader = SocketUnreader(ours)
    if already_buffered:
        unreader.unread(already_buffered)

    def send() -> None:
        peer.sendall(payload)
        if close:
            peer.shutdown(socket.SHUT_WR)

    sender = threading.Thread(target=send)
    sender.start()
    return Body(LengthReader(unreader, length)), unreader, (ours, peer, sender)


def collect(body, length: int, chunk_size: int = 64 * 1024) -> bytes:
    return b"".join(bytes(c) for c in iter_upload_body(body, length, chunk_size=chunk_size))


def test_fast_path_reads_exactly_the_body_and_leaves_the_next_request():
    data = bytes(range(256)) * 4000  # ~1 MiB
    head, rest = data[:5000], data[5000:]
    nxt = b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n"
    body, unreader, (ours, peer, sender) = gunicorn_body(rest + nxt, length=len(data), already_buffered=head)
    assert _gunicorn_parts(body) is not None
    assert collect(body, len(data), chunk_size=10_000) == data
    assert body.read(1024) == b""  # what gunicorn drains before the next request
    sender.join(5)
    assert unreader.read(len(nxt)) == nxt
    ours.close()
    peer.close()


def test_buffered_bytes_past_the_body_stay_for_the_next_request():
    nxt = b"GET /next HTTP/1.1\r\n\r\n"
    body, unreader, (ours, peer, sender) = gunicorn_body(b"", length=3, already_buffered=b"abc" + nxt, close=False)
    assert collect(body, 3) == b"abc"
    sender.join(5)
    assert unreader.read(len(nxt)) == nxt
    ours.close()
    peer.close()


def test_short_body_raises_incomplete_and_marks_the_connection_unusable():
    body, _unreader, (ours, peer, sender) = gunicorn_body(b"x" * 1000, length=5000)
    with pytest.raises(IncompleteBody):
        collect(body, 5000)
    assert body.failed is True
    sender.join(5)
    ours.close()
    peer.close()


def test_other_inputs_use_the_portable_reader():
    assert _gunicorn_parts(io.BytesIO(b"abc")) is None
    assert collect(io.BytesIO(b"abcdef"), 6, chunk_size=4) == b"abcdef"
    with pytest.raises(IncompleteBody):
        collect(io.BytesIO(b"abc"), 6)


@pytest.mark.live
def test_signed_put_on_a_keepalive_connection(live_hub):
    """Through gunicorn: a refused and an accepted upload, then another request on the same
    connection (the body was consumed exactly)."""
    token = live_hub.create_user("upload_body_user")
    url = live_hub.url
    host, port = urlsplit(url).hostname, urlsplit(url).port
    conn = http.client.HTTPConnection(host, port, timeout=30)

    def call(method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()

    status, _ = call("POST", "/api/repos/create", json.dumps({"name": "upload-body", "type": "model"}).encode(),
                     {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert status == 200
    data = hashlib.sha256(b"seed").digest() * 100_000  # 3.2 MB
    oid = hashlib.sha256(data).hexdigest()
    status, raw = call("POST", "/upload_body_user/upload-body.git/info/lfs/objects/batch",
                       json.dumps({"operation": "upload", "transfers": ["basic"],
                                   "objects": [{"oid": oid, "size": len(data)}]}).encode(),
                       {"Authorization": f"Bearer {token}", "Content-Type": "application/vnd.git-lfs+json",
                        "Accept": "application/vnd.git-lfs+json"})
    assert status == 200
    href = json.loads(raw)["objects"][0]["actions"]["upload"]["href"]
    path = href[len(url):]
    assert call("PUT", path, data[:-1] + b"!")[0] == 422
    assert call("PUT", path, data)[0] == 200
    stored = live_hub.data_dir / "lfs" / oid[:2] / oid[2:4] / oid
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == oid
    assert call("GET", "/api/agent-harnesses")[0] == 200
    conn.close()
