"""gunicorn's gthread worker with the slow-client protections the hub needs (issue 9, item 5).

Stock gthread hands a connection to a thread as soon as its first byte arrives; the thread then
blocks reading the rest of the request head and body for as long as the client takes. Forty
sockets that send one header line every 2 s held all 32 threads of `make run` (2 workers x 16
threads) and the API stopped answering; a trickled upload holds a thread the same way. Here:

1. **Heads are read by the worker's event loop** (non-blocking, no thread), within
   HUB_HEADER_TIMEOUT seconds (default 10) of the connection or of the first byte of a
   kept-alive connection's next request. A request reaches a thread with its head complete.
2. **Small bodies** (Content-Length up to HUB_BODY_BUFFER bytes, default 64 KiB, and no
   `Expect: 100-continue`) are read by the event loop too: API calls never wait in a thread for
   their JSON.
3. **Larger and chunked bodies** (uploads, pushes) stream in their thread as before (zero-copy
   uploads, no temporary file, no second copy of a pack), but
   - every read waits at most until HUB_BODY_TIMEOUT seconds (default 30) plus one second per
     HUB_BODY_MIN_RATE bytes received so far (default 500) after the request reached its
     thread - Apache mod_reqtimeout's `body=30,MinRate=500`: a stalled or trickling upload is
     cut off, and any real client is far faster;
   - one client (peer address) has at most HUB_MAX_STREAMS_PER_CLIENT such requests in threads
     per worker (default: half the threads; 0 = no bound). More wait, unread, in the event loop
     for a free slot, and get a 503 with Retry-After if none frees up within HUB_BODY_TIMEOUT:
     one client cannot take every thread.
4. **Connections still sending a head, or idle between requests, are bounded per client**
   (HUB_MAX_PENDING_PER_CLIENT per worker, default 256): a new connection closes that client's
   oldest one, so a flood of idle sockets cannot use up `worker_connections` for everyone.
5. Closing a connection lingers for the client's FIN without blocking the event loop (stock
   gthread lingers up to 2 s inside it).

Why here and not a buffering front: a reverse proxy in `make run` would copy every byte of every
download through Python (bench/download.py holds /resolve/ to nginx's sendfile speed) and add a
hop to each API call; WSGI middleware runs only after gunicorn has read the head in a thread,
too late for slow headers. Reading heads in the event loop is what nginx does, at the cost of
overriding a few gthread methods (pinned gunicorn; tests/ops/test_slow_clients.py drives the
real worker). Scaled out, nginx in front does the buffering (README). Only plain HTTP/1.x, what
the hub binds: with TLS, h2c or the PROXY protocol configured in gunicorn this behaves exactly
like stock gthread. No Django here: gunicorn loads this in its master process.
"""
from __future__ import annotations

import errno
import json
import os
import selectors
import socket
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from functools import partial
from typing import Any

from gunicorn import util as gunicorn_util
from gunicorn.workers import gthread

from hub.http.errors import header_value
from hub.http.headers import BASELINE, RESOURCE_CSP
from hub.http.request_id import HEADER as REQUEST_ID_HEADER
from hub.http.request_id import request_id_for

HEAD_MAX = 64 * 1024  # a head (request line + headers) larger than this is refused (431)
LINGER_S = 2.0  # how long a closing connection waits for the client's FIN (as gunicorn's)
LINGER_MAX_BYTES = 64 * 1024
_RECV = 64 * 1024
# The worker's own answers carry the headers of every hub response (hub/http/headers.py).
_REFUSAL_SECURITY_HEADERS = {**BASELINE, "Content-Security-Policy": RESOURCE_CSP}


def refusal_bytes(status: str, message: str, extra_headers: str = "") -> bytes:
    """A whole response written below the application (this worker's 408/431/503, gunicorn's
    own 400/414/431 for a request it could not parse), shaped like the application's errors:
    the message as JSON and in `X-Error-Message`, an `X-Request-Id`, the security headers. The
    clients read those (huggingface_hub puts both in its exception; git-lfs the message)."""
    body = json.dumps({"error": message}).encode()
    security = "".join(f"{key}: {value}\r\n" for key, value in _REFUSAL_SECURITY_HEADERS.items())
    return (f"HTTP/1.1 {status}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nX-Error-Message: {header_value(message)}\r\n"
            f"{REQUEST_ID_HEADER}: {request_id_for(None)}\r\n{security}{extra_headers}\r\n").encode("latin-1") + body


def _write_gunicorn_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    gunicorn_util.write_nonblock(sock, refusal_bytes(f"{status_int} {reason}", mesg or reason))


# gunicorn answers what it cannot parse (a request line over `limit_request_line`: 414, bad
# headers: 400/431) with `util.write_error`, an HTML page without our headers; its worker
# classes call it through the module, so this process's copy is replaced once, here (this
# module is imported only by gunicorn processes running HubThreadWorker).
gunicorn_util.write_error = _write_gunicorn_error


_REFUSAL_MESSAGES = {
    "408": "The request was not received in time (a slow client)",
    "431": "The request head is too large",
    "503": "The server is busy, please retry",
}


def _env_float(environ: Any, name: str, default: float) -> float:
    raw = environ.get(name, "")
    return float(raw) if raw.strip() else default


@dataclass(frozen=True)
class Limits:
    """The bounds above; `from_env` reads the HUB_* variables."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    body_min_rate: float = 500.0  # bytes/s; 0: every read waits at most body_timeout
    body_buffer: int = 64 * 1024
    max_streams_per_client: int = 8  # 0: unbounded
    max_pending_per_client: int = 256  # 0: unbounded

    @classmethod
    def from_env(cls, threads: int, environ: Any = os.environ) -> Limits:
        return cls(
            header_timeout=_env_float(environ, "HUB_HEADER_TIMEOUT", cls.header_timeout),
            body_timeout=_env_float(environ, "HUB_BODY_TIMEOUT", cls.body_timeout),
            body_min_rate=_env_float(environ, "HUB_BODY_MIN_RATE", cls.body_min_rate),
            body_buffer=int(_env_float(environ, "HUB_BODY_BUFFER", cls.body_buffer)),
            max_streams_per_client=int(_env_float(environ, "HUB_MAX_STREAMS_PER_CLIENT", max(1, threads // 2))),
            max_pending_per_client=int(_env_float(environ, "HUB_MAX_PENDING_PER_CLIENT",
                                                  cls.max_pending_per_client)),
        )


class SlowClientError(TimeoutError):
    """A request body arrived slower than the limits allow; the connection is closed."""


class BodyDeadline:
    """The time a streamed body may take: `timeout` + received / `min_rate` seconds from the
    moment its request reached a thread (with min_rate 0: `timeout` per read)."""

    __slots__ = ("start", "timeout", "min_rate", "received", "expired")

    def __init__(self, timeout: float, min_rate: float, start: float | None = None) -> None:
        self.start = time.monotonic() if start is None else start
        self.timeout = timeout
        self.min_rate = min_rate
        self.received = 0
        self.expired = False

    def budget(self, prior: float | None) -> float:
        """Seconds the next read may wait (never more than the socket's own timeout)."""
        if self.min_rate > 0:
            remaining = self.start + self.timeout + self.received / self.min_rate - time.monotonic()
        else:
            remaining = self.timeout
        if remaining <= 0:
            self.expired = True
            raise SlowClientError(errno.ETIMEDOUT, "request body too slow")
        return remaining if prior is None else min(prior, remaining)


class ClientSocket(socket.socket):
    """A client connection whose reads can be bounded by a `BodyDeadline`.

    Only reads change: the timeout is set around each `recv`/`recv_into` and restored after,
    so writes (`sendall`, `sendfile` of downloads) keep the socket's own blocking mode.
    """

    __slots__ = ("deadline",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline: BodyDeadline | None = None

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        deadline = self.deadline
        if deadline is None:
            return super().recv(bufsize, flags)
        data = self._bounded(deadline, super().recv, bufsize, flags)
        deadline.received += len(data)
        return data

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        deadline = self.deadline
        if deadline is None:
            return super().recv_into(buffer, nbytes, flags)
        n = self._bounded(deadline, super().recv_into, buffer, nbytes, flags)
        deadline.received += n
        return n

    def _bounded(self, deadline: BodyDeadline, read: Any, *args: Any) -> Any:
        prior = self.gettimeout()
        self.settimeout(deadline.budget(prior))
        try:
            return read(*args)
        except TimeoutError as exc:
            deadline.expired = True
            raise SlowClientError(errno.ETIMEDOUT, "request body too slow") from exc
        finally:
            self.settimeout(prior)


@dataclass(frozen=True)
class HeadInfo:
    length: int | None  # Content-Length, when present and valid
    chunked: bool  # a Transfer-Encoding (the body ends itself)
    expect: bool  # Expect: the server must answer before the body comes
    malformed: bool  # let gunicorn's parser answer it (400)


def inspect_head(head: bytes) -> HeadInfo:
    """What the event loop needs from a complete head (up to, not including, CRLFCRLF): how
    the body is framed. Everything else, and every error, is left to gunicorn's parser."""
    length: int | None = None
    chunked = expect = malformed = False
    for line in head.split(b"\r\n")[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            continue
        name = name.strip().lower()
        if name == b"content-length":
            value = value.strip()
            if length is not None or not value.isdigit():
                malformed = True
            else:
                length = int(value)
        elif name == b"transfer-encoding":
            chunked = True
        elif name == b"expect":
            expect = True
    return HeadInfo(length=length, chunked=chunked, expect=expect, malformed=malformed)


# What a connection waiting in the event loop is doing.
HEAD, BODY, IDLE, PARKED, LINGER = "head", "body", "idle", "parked", "linger"


class _Waiting:
    __slots__ = ("conn", "client", "phase", "buf", "deadline", "head_len", "need", "body_start", "registered",
                 "done", "drained")

    def __init__(self, conn: Any, client: str, phase: str, deadline: float) -> None:
        self.conn = conn
        self.client = client
        self.phase = phase
        self.buf = bytearray()
        self.deadline = deadline
        self.head_len = 0  # with BODY: the length of the head, CRLFCRLF included
        self.need = 0  # with BODY: the buffer length that completes the request
        self.body_start = 0.0
        self.registered = False
        self.done = False
        self.drained = 0


class HubThreadWorker(gthread.ThreadWorker):
    """gthread whose event loop reads request heads and small bodies (see the module doc)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cfg = self.cfg
        self.limits = Limits.from_env(cfg.threads)
        self.guarded = (not cfg.is_ssl and cfg.http2_cleartext == "off" and cfg.proxy_protocol == "off")
        self._waiting: dict[Any, _Waiting] = {}  # by connection
        self._by_client: dict[str, OrderedDict[Any, _Waiting]] = {}  # oldest first (no LINGER)
        self._streams: dict[str, int] = {}  # requests with a streamed body in threads
        self._parked: dict[str, deque[_Waiting]] = {}  # waiting for a stream slot

    # ------------------------------------------------------------------ gthread hooks

    def run(self) -> None:
        if not self.guarded:
            self.log.warning("slow-client protections are off (TLS, h2c or PROXY protocol configured)")
        super().run()

    def accept(self, listener: Any) -> None:
        if not self.guarded:
            return super().accept(listener)
        try:
            fd, addr = listener.sock._accept()
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return None
        sock = ClientSocket(listener.family, listener.type, listener.proto, fileno=fd)
        self.nr_conns += 1
        conn = gthread.TConn(self.cfg, sock, addr, listener.getsockname())
        self._read_request(conn, b"", idle=False)
        return None

    def handle(self, conn: Any) -> Any:
        buffered = getattr(conn, "hub_buffered", None)
        if buffered is not None:
            conn.hub_buffered = None
            conn.sock.setblocking(True)
            conn.init()
            if buffered:
                conn.parser.unreader.unread(buffered)
        return super().handle(conn)

    def finish_request(self, conn: Any, fs: Any) -> None:
        if not self.guarded:
            return super().finish_request(conn, fs)
        client = getattr(conn, "hub_stream_client", None)
        if client is not None:
            conn.hub_stream_client = None
            self._release_stream(client)
        deadline = getattr(conn.sock, "deadline", None)
        expired = deadline is not None and deadline.expired
        if deadline is not None:
            conn.sock.deadline = None
        try:
            result = fs.result() if not fs.cancelled() else False
        except Exception:
            result = False
        if result and result is not gthread._DEFER and not expired and conn.parser is not None:
            # Kept alive: the next request is read by the event loop like a new one, starting
            # with whatever the parser already read of it.
            try:
                leftover = conn.parser.unreader.take_buffered()
                conn.sock.setblocking(False)
            except OSError:
                self._close(conn)
                return None
            self._read_request(conn, leftover, idle=not leftover)
        else:
            self._linger(conn)
        return None

    def murder_keepalived(self, force: bool = False) -> None:
        if not self.guarded:
            return super().murder_keepalived(force)
        now = time.monotonic()
        for waiting in list(self._waiting.values()):
            if force or waiting.deadline <= now:
                self._expire(waiting)
        return None

    def murder_pending(self) -> None:
        if not self.guarded:
            super().murder_pending()
        # Otherwise nothing is deferred: murder_keepalived expires every waiting connection.

    def _cap_keepalive(self, deadline: float) -> None:
        # Stopping: idle connections stay open only briefly (gthread's STOP_KEEPALIVE_LINGER).
        super()._cap_keepalive(deadline)
        for waiting in self._waiting.values():
            if waiting.phase == IDLE:
                waiting.deadline = min(waiting.deadline, deadline)

    # ------------------------------------------------------------------ the event loop's side

    def _client(self, conn: Any) -> str:
        return str(conn.client[0]) if isinstance(conn.client, tuple) and conn.client else "local"

    def _read_request(self, conn: Any, data: bytes, *, idle: bool) -> None:
        now = time.monotonic()
        if idle:
            deadline = now + self.cfg.keepalive
            if not self.alive:
                deadline = min(deadline, now + gthread.STOP_KEEPALIVE_LINGER)
        else:
            deadline = now + self.limits.header_timeout
        waiting = _Waiting(conn, self._client(conn), IDLE if idle else HEAD, deadline)
        self._admit(waiting)
        if data:
            waiting.buf += data
            if self._progress(waiting):
                return
        self._register(waiting)

    def _admit(self, waiting: _Waiting) -> None:
        """Track a connection; past the client's bound, its oldest waiting connection goes."""
        queue = self._by_client.setdefault(waiting.client, OrderedDict())
        limit = self.limits.max_pending_per_client
        while limit and len(queue) >= limit:
            oldest = next(iter(queue.values()))
            self.log.debug("closing the oldest of %d waiting connections of %s", len(queue), waiting.client)
            self._expire(oldest)
        queue[waiting.conn] = waiting
        self._waiting[waiting.conn] = waiting
        if waiting.phase == IDLE:
            self.keepalived_conns.append(waiting.conn)  # gthread counts them (max_keepalived)

    def _register(self, waiting: _Waiting) -> None:
        if not waiting.registered:
            self.poller.register(waiting.conn.sock, selectors.EVENT_READ, partial(self._on_readable, waiting))
            waiting.registered = True

    def _unregister(self, waiting: _Waiting) -> None:
        if waiting.registered:
            waiting.registered = False
            try:
                self.poller.unregister(waiting.conn.sock)
            except (KeyError, ValueError, OSError):
                pass

    def _forget(self, waiting: _Waiting) -> None:
        """Stop tracking (the connection goes to a thread or is closed)."""
        waiting.done = True
        self._unregister(waiting)
        self._waiting.pop(waiting.conn, None)
        queue = self._by_client.get(waiting.client)
        if queue is not None:
            queue.pop(waiting.conn, None)
            if not queue:
                del self._by_client[waiting.client]
        if waiting.phase == IDLE:
            self._leave_keepalived(waiting.conn)

    def _leave_keepalived(self, conn: Any) -> None:
        try:
            self.keepalived_conns.remove(conn)
        except ValueError:
            pass

    def _on_readable(self, waiting: _Waiting, _fileobj: Any) -> None:
        if waiting.done:
            return
        if waiting.phase == LINGER:
            self._drain(waiting)
            return
        try:
            chunk = waiting.conn.sock.recv(_RECV)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._forget(waiting)
            self._close(waiting.conn)
            return
        if not chunk:  # the client went away
            self._forget(waiting)
            self._close(waiting.conn)
            return
        if waiting.phase == IDLE:
            # The next request starts: from now on it has the head's time limit.
            waiting.phase = HEAD
            waiting.deadline = time.monotonic() + self.limits.header_timeout
            self._leave_keepalived(waiting.conn)
        waiting.buf += chunk
        self._progress(waiting)

    def _progress(self, waiting: _Waiting) -> bool:
        """Act on what has been read; True once the connection has left the event loop's reading
        (to a thread, to a stream slot queue, or closed)."""
        buf = waiting.buf
        if waiting.phase in (HEAD, IDLE):
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > HEAD_MAX:
                    self._refuse(waiting, "431 Request Header Fields Too Large")
                    return True
                if buf.count(b"\n") != buf.count(b"\r\n"):
                    self._dispatch(waiting)  # bare LF: gunicorn's parser refuses it at once
                    return True
                return False
            if end > HEAD_MAX:
                self._refuse(waiting, "431 Request Header Fields Too Large")
                return True
            info = inspect_head(bytes(buf[:end]))
            head_len = end + 4
            if info.malformed or (not info.chunked and not info.length):
                self._dispatch(waiting)  # no body (or gunicorn answers 400)
                return True
            if info.chunked or info.expect or info.length is None or info.length > self.limits.body_buffer:
                self._stream_or_park(waiting)
                return True
            waiting.phase = BODY
            waiting.head_len = head_len
            waiting.need = head_len + info.length
            waiting.body_start = time.monotonic()
        if waiting.phase == BODY:
            if len(buf) >= waiting.need:
                self._dispatch(waiting)
                return True
            received = len(buf) - waiting.head_len
            limits = self.limits
            waiting.deadline = waiting.body_start + limits.body_timeout + (
                received / limits.body_min_rate if limits.body_min_rate > 0 else 0)
        return False

    def _dispatch(self, waiting: _Waiting, *, stream: bool = False) -> None:
        """Hand the connection, with what was read of its request, to a thread."""
        self._forget(waiting)
        conn = waiting.conn
        conn.hub_buffered = bytes(waiting.buf)
        conn.hub_stream_client = waiting.client if stream else None
        if isinstance(conn.sock, ClientSocket):
            conn.sock.deadline = (BodyDeadline(self.limits.body_timeout, self.limits.body_min_rate)
                                  if stream else None)
        conn.data_ready = True
        self.enqueue_req(conn)

    def _stream_or_park(self, waiting: _Waiting) -> None:
        limit = self.limits.max_streams_per_client
        if not limit or self._streams.get(waiting.client, 0) < limit:
            self._streams[waiting.client] = self._streams.get(waiting.client, 0) + 1
            self._dispatch(waiting, stream=True)
            return
        # The client has its share of threads: this one waits, unread, for a free slot.
        self._unregister(waiting)
        waiting.phase = PARKED
        waiting.deadline = time.monotonic() + self.limits.body_timeout
        self._parked.setdefault(waiting.client, deque()).append(waiting)

    def _release_stream(self, client: str) -> None:
        left = self._streams.get(client, 0) - 1
        if left > 0:
            self._streams[client] = left
        else:
            self._streams.pop(client, None)
        queue = self._parked.get(client)
        while queue:
            waiting = queue.popleft()
            if not waiting.done:
                self._streams[client] = self._streams.get(client, 0) + 1
                self._dispatch(waiting, stream=True)
                break
        if queue is not None and not queue:
            del self._parked[client]

    def _expire(self, waiting: _Waiting) -> None:
        if waiting.phase == LINGER:
            self._forget(waiting)
            self._close(waiting.conn)
        elif waiting.phase == PARKED:
            self._refuse(waiting, "503 Service Unavailable", "Retry-After: 5\r\n")
        elif waiting.phase == IDLE or not waiting.buf:
            self._forget(waiting)
            self._close(waiting.conn)
        else:
            self._refuse(waiting, "408 Request Timeout")

    def _refuse(self, waiting: _Waiting, status: str, headers: str = "") -> None:
        """Answer from the event loop (never blocks: what the socket does not take is lost)."""
        self._forget(waiting)
        response = refusal_bytes(status, _REFUSAL_MESSAGES.get(status[:3], status), headers)
        try:
            waiting.conn.sock.send(response)
        except OSError:
            pass
        self._linger(waiting.conn)

    def _linger(self, conn: Any) -> None:
        """Close after the response: FIN, then read (and drop) until the client's FIN or
        LINGER_S, in the event loop, so the kernel does not reset the connection on unread
        request bytes and no thread or loop iteration waits for it."""
        try:
            conn.sock.setblocking(False)
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(conn)
            return
        waiting = _Waiting(conn, "", LINGER, time.monotonic() + LINGER_S)
        self._waiting[conn] = waiting
        self._register(waiting)

    def _drain(self, waiting: _Waiting) -> None:
        try:
            data = waiting.conn.sock.recv(_RECV)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        waiting.drained += len(data)
        if not data or waiting.drained >= LINGER_MAX_BYTES:
            self._forget(waiting)
            self._close(waiting.conn)

    def _close(self, conn: Any) -> None:
        self.nr_conns -= 1
        try:
            conn.sock.close()
        except OSError:
            pass
