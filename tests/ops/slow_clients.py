"""Slow clients for tests and bench/slow_clients.py: sockets that send a request one header line,
or one body byte, every `interval` seconds - the "slowloris" and slow-upload attacks, bounded in
number and time, on loopback only.

`SlowClients(...).start()` opens every connection and sends each the start of its request;
a background thread then trickles the rest until `stop()` (or `duration` elapses). What the
server did to each connection (answered, closed) is recorded, never waited for.
"""
from __future__ import annotations

import errno
import select
import socket
import threading
import time
from dataclasses import dataclass, field

LOOPBACK = "127.0.0.1"


@dataclass
class _Conn:
    kind: str
    sock: socket.socket
    next_line: int = 0
    status: str = ""  # the status line of a response, if the server answered
    closed_by_server: bool = False


@dataclass
class SlowClients:
    port: int
    headers: int = 40  # connections that never finish their head
    small_bodies: int = 10  # heads complete, a small body (Content-Length `small_size`) trickled
    large_bodies: int = 10  # heads complete, a large body (Content-Length `large_size`) trickled
    interval: float = 2.0
    duration: float = 60.0  # the trickling stops by itself after this
    head_path: str = "/api/agent-harnesses"
    body_path: str = "/api/validate-yaml"
    small_size: int = 16 * 1024
    large_size: int = 1024 * 1024
    conns: list[_Conn] = field(default_factory=list)
    ticks: int = 0  # trickle rounds done
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> SlowClients:
        try:
            for _ in range(self.headers):
                self._open("header", f"GET {self.head_path} HTTP/1.1\r\nHost: {LOOPBACK}\r\n".encode())
            for kind, size, count in (("small-body", self.small_size, self.small_bodies),
                                      ("large-body", self.large_size, self.large_bodies)):
                for _ in range(count):
                    head = (f"POST {self.body_path} HTTP/1.1\r\nHost: {LOOPBACK}\r\n"
                            f"Content-Type: application/json\r\nContent-Length: {size}\r\n\r\n{{").encode()
                    self._open(kind, head)
        except BaseException:
            self.stop()
            raise
        self._thread = threading.Thread(target=self._trickle, name="slow-clients", daemon=True)
        self._thread.start()
        return self

    def _open(self, kind: str, first: bytes) -> None:
        sock = socket.create_connection((LOOPBACK, self.port), timeout=10)
        sock.setblocking(False)
        conn = _Conn(kind, sock)
        self.conns.append(conn)
        self._send(conn, first)

    def _send(self, conn: _Conn, data: bytes) -> None:
        if conn.closed_by_server:
            return
        try:
            conn.sock.send(data)
        except BlockingIOError:
            pass  # the server is not reading this one (yet): nothing more to send now
        except OSError:
            conn.closed_by_server = True

    def _poll_answers(self) -> None:
        for conn in self.conns:
            if conn.closed_by_server:
                continue
            try:
                data = conn.sock.recv(4096)
            except BlockingIOError:
                continue
            except OSError as exc:
                if exc.errno != errno.EAGAIN:
                    conn.closed_by_server = True
                continue
            if not data:
                conn.closed_by_server = True
            elif not conn.status:
                conn.status = data.split(b"\r\n", 1)[0].decode("latin-1")

    def _trickle(self) -> None:
        until = time.monotonic() + self.duration
        while not self._stop.wait(self.interval) and time.monotonic() < until:
            with self._lock:
                self._poll_answers()
                for conn in self.conns:
                    conn.next_line += 1
                    if conn.kind == "header":
                        self._send(conn, f"X-Slow-{conn.next_line}: {'a' * 16}\r\n".encode())
                    else:
                        self._send(conn, b" ")
                self.ticks += 1

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        for conn in self.conns:
            try:
                conn.sock.close()
            except OSError:
                pass

    def snapshot(self) -> dict[str, int]:
        """Connections the server has not closed, by kind, and responses seen (by status)."""
        with self._lock:
            self._poll_answers()
            counts: dict[str, int] = {}
            for conn in self.conns:
                if not conn.closed_by_server:
                    counts[f"open {conn.kind}"] = counts.get(f"open {conn.kind}", 0) + 1
                if conn.status:
                    counts[conn.status] = counts.get(conn.status, 0) + 1
            return counts

    def wait_ticks(self, n: int, timeout: float) -> None:
        """Return once `n` trickle rounds were sent (the attack is under way)."""
        deadline = time.monotonic() + timeout
        while self.ticks < n:
            if time.monotonic() > deadline or self._stop.is_set():
                raise TimeoutError(f"only {self.ticks} of {n} trickle rounds after {timeout}s")
            time.sleep(0.01)

    def open_count(self) -> int:
        snap = self.snapshot()
        return sum(v for k, v in snap.items() if k.startswith("open "))

    def __enter__(self) -> SlowClients:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def readable_within(sock: socket.socket, timeout: float) -> bool:
    return bool(select.select([sock], [], [], timeout)[0])
