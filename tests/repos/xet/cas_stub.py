"""A tiny Xet CAS on 127.0.0.1 built only from ``repos.xet``, for driving the real hf_xet.

Not product code: a test double that proves the pure layer is enough to serve the stock client
(upload, v1/v2 shard upload, global dedup, reconstruction, signed fetches) and that records every
request and body so tests can inspect real client output. In-memory, threaded stdlib server.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, BinaryIO
from urllib.parse import parse_qsl, urlsplit

from repos.xet import errors, shard_progress
from repos.xet.fetch_signing import check_fetch, fetch_url
from repos.xet.hashes import MerkleHash, is_global_dedup_eligible, new_dedup_key
from repos.xet.http_range import content_range, parse_range
from repos.xet.reconstruction import chunk_reader, plan_reconstruction
from repos.xet.shard import ShardXorb, dedup_answer_shard, read_shard
from repos.xet.tokens import CasTokenClaims, bearer_token, issue_cas_token, verify_cas_token
from repos.xet.verify import VerifiedFile, verify_sha256, verify_shard
from repos.xet.xorb import XorbInfo, footer_bytes, read_xorb

SECRET = b"stub-secret-for-tests-only"


@dataclass
class StubState:
    xorbs: dict[MerkleHash, tuple[bytes, XorbInfo]] = field(default_factory=dict)
    files: dict[MerkleHash, VerifiedFile] = field(default_factory=dict)
    sha256: dict[MerkleHash, str] = field(default_factory=dict)
    dedup_index: dict[MerkleHash, tuple[MerkleHash, int]] = field(default_factory=dict)
    xorb_bodies: list[bytes] = field(default_factory=list)
    shard_bodies: list[bytes] = field(default_factory=list)
    log: list[tuple[str, str, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class StubCas:
    """Start with ``with StubCas() as cas:``; ``cas.url`` is the casUrl, ``cas.token()`` a token."""

    def __init__(self, *, v2_shards: bool = False, v2_reconstructions: bool = False, dedup: bool = True) -> None:
        self.state = StubState()
        self.v2_shards = v2_shards
        self.v2_reconstructions = v2_reconstructions
        self.dedup = dedup
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> StubCas:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def token(self, scope: str = "write", *, ttl: int = 3600) -> tuple[str, int]:
        exp = int(time.time()) + ttl
        claims = CasTokenClaims("model:stub", "main", "write" if scope == "write" else "read", "u1", False, exp)
        return issue_cas_token(SECRET, claims), exp

    # --- helpers used by the handler -------------------------------------------------------
    def lookup(self, h: MerkleHash) -> XorbInfo | None:
        entry = self.state.xorbs.get(h)
        return entry[1] if entry else None

    def open_range(self, h: MerkleHash, start: int, end: int) -> AbstractContextManager[BinaryIO]:
        return nullcontext(io.BytesIO(self.state.xorbs[h][0][start:end]))

    def register(self, vf: VerifiedFile, sha: str) -> None:
        with self.state.lock:
            self.state.files[vf.file_hash] = vf
            self.state.sha256[vf.file_hash] = sha
            if vf.segments:
                first = vf.segments[0]
                info = self.lookup(first.xorb_hash)
                assert info is not None
                self.state.dedup_index[info.chunks[first.chunk_start].hash] = (first.xorb_hash, first.chunk_start)


def _handler_for(cas: StubCas) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: bytes = b"", ctype: str = "application/json", **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in headers.items():
                self.send_header(k.replace("_", "-"), v)
            self.end_headers()
            if body and self.command != "HEAD":
                self.wfile.write(body)
            with cas.state.lock:
                cas.state.log.append((self.command, urlsplit(self.path).path, status))

        def _json(self, status: int, obj: object) -> None:
            self._send(status, json.dumps(obj).encode())

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _auth(self, scope: str) -> CasTokenClaims | None:
            token = bearer_token(self.headers.get("Authorization"))
            try:
                claims = verify_cas_token(SECRET, token or "", now=int(time.time()))
            except errors.InvalidCasToken:
                self._send(401)
                return None
            if not claims.allows("write" if scope == "write" else "read"):
                self._send(403)
                return None
            return claims

        def do_GET(self) -> None:  # noqa: N802 (stdlib naming)
            parts = urlsplit(self.path)
            seg = parts.path.strip("/").split("/")
            if seg[:2] == ["v1", "fetch"] and len(seg) == 3:
                return self._fetch(seg[2], dict(parse_qsl(parts.query)))
            claims = self._auth("read")
            if claims is None:
                return
            if seg[:2] == ["v1", "chunks"] and len(seg) == 4:
                return self._chunks(seg[3])
            if seg[0] in ("v1", "v2") and len(seg) == 3 and seg[1] == "reconstructions":
                if seg[0] == "v2" and not cas.v2_reconstructions:
                    return self._send(404)
                return self._reconstruction(seg[2], v2=seg[0] == "v2", reader=claims.user_key or "")
            self._send(404)

        def do_POST(self) -> None:  # noqa: N802
            seg = urlsplit(self.path).path.strip("/").split("/")
            if seg == ["v1", "telemetry"]:
                self._body()
                return self._send(200)
            claims = self._auth("write")
            if claims is None:
                self._body()
                return
            if seg[:2] == ["v1", "xorb-grants"]:
                self._body()  # drain first, or the client sees a broken connection, not the 404
                return self._send(404)
            if seg[:2] == ["v1", "xorbs"] and len(seg) == 4:
                return self._xorb(seg[3])
            if seg == ["v2", "shards"]:
                if not cas.v2_shards:
                    self._body()
                    return self._send(404)
                return self._shard(self._body(), v2=True)
            if seg == ["v1", "shards"]:
                return self._shard(self._body(), v2=False)
            self._body()
            self._send(404)

        # --- routes ------------------------------------------------------------------------
        def _xorb(self, name: str) -> None:
            body = self._body()
            with cas.state.lock:
                cas.state.xorb_bodies.append(body)
            records = io.BytesIO()
            try:
                info = read_xorb(io.BytesIO(body), expected_hash=MerkleHash.from_hex(name), sink=records)
            except errors.XetFormatError as exc:
                return self._send(400, str(exc).encode(), "text/plain")
            with cas.state.lock:
                inserted = info.hash not in cas.state.xorbs
                cas.state.xorbs[info.hash] = (records.getvalue() + footer_bytes(info), info)
                for i, c in enumerate(info.chunks):
                    if is_global_dedup_eligible(c.hash):
                        cas.state.dedup_index.setdefault(c.hash, (info.hash, i))
            self._json(200, {"was_inserted": inserted})

        def _verify_and_register(self, body: bytes) -> None:
            shard = read_shard(io.BytesIO(body))
            verified = verify_shard(shard, lookup=cas.lookup)
            reader = chunk_reader(lookup=cas.lookup, open_range=cas.open_range, verify_hashes=True)
            for vf in verified:
                cas.register(vf, verify_sha256(vf, read_chunks=reader))

        def _shard(self, body: bytes, *, v2: bool) -> None:
            with cas.state.lock:
                cas.state.shard_bodies.append(body)
            try:
                self._verify_and_register(body)
            except (errors.XetFormatError, errors.XetVerificationError) as exc:
                if v2:
                    frames = shard_progress.validating_frame(verified=0, total=1)
                    frames += shard_progress.error_frame(str(exc), retryable=False)
                    return self._send(200, frames, shard_progress.CONTENT_TYPE)
                return self._send(400, str(exc).encode(), "text/plain")
            if v2:
                frames = shard_progress.validating_frame(verified=1, total=1)
                frames += shard_progress.committing_frame("syncing") + shard_progress.result_frame()
                return self._send(200, frames, shard_progress.CONTENT_TYPE)
            self._json(200, {"result": 1})

        def _chunks(self, name: str) -> None:
            try:
                h = MerkleHash.from_hex(name)
            except errors.InvalidHashString:
                return self._send(400)
            hit = cas.state.dedup_index.get(h) if cas.dedup else None
            if hit is None:
                return self._send(404)
            xorb, index = hit
            info = cas.lookup(xorb)
            assert info is not None
            body = dedup_answer_shard(
                [ShardXorb.from_xorb_info(info, dedup_chunks=[index])],
                key=new_dedup_key(),
                now=int(time.time()),
                ttl_seconds=3600,
            )
            self._send(200, body, "application/octet-stream")

        def _reconstruction(self, name: str, *, v2: bool, reader: str) -> None:
            try:
                vf = cas.state.files.get(MerkleHash.from_hex(name))
            except errors.InvalidHashString:
                vf = None
            if vf is None:
                return self._send(404)
            exp = int(time.time()) + 600

            def url_for(xorb: MerkleHash, start: int, end: int) -> str:
                return fetch_url(cas.url, secret=SECRET, xorb=xorb, start=start, end=end, expires_at=exp, reader=reader)

            try:
                rng = parse_range(self.headers.get("Range"), size=vf.size)
                plan = plan_reconstruction(vf.segments, lookup=cas.lookup, url_for=url_for, byte_range=rng)
            except errors.RangeNotSatisfiable:
                return self._send(416)
            except errors.MalformedRange:
                return self._send(400)
            self._json(200, plan.to_v2_json() if v2 else plan.to_v1_json())

        def _fetch(self, name: str, query: dict[str, str]) -> None:
            try:
                grant = check_fetch(
                    SECRET, xorb_hex=name, query=query, range_header=self.headers.get("Range"), now=int(time.time())
                )
            except errors.FetchDenied:
                return self._send(403)
            stored = cas.state.xorbs.get(grant.xorb)
            if stored is None:
                return self._send(404)
            data, info = stored
            if grant.end > info.serialized_length:  # never serve the footer
                return self._send(416)
            self._send(
                206,
                data[grant.start : grant.end],
                "application/octet-stream",
                Content_Range=content_range(grant.start, grant.end, info.serialized_length),
            )

    return Handler


def iter_blocks(data: bytes, size: int) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]
