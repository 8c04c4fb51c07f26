"""Slow clients cannot starve the web server (hub/gunicorn_worker.py, issue 9 item 5).

The first tests run gunicorn with the hub's config and worker around a tiny WSGI app
(tests/ops/slow_app.py) with short limits, so that every limit is reached within seconds. The
last ones attack the real hub (the session's live server) and check the API still answers.
Every attack is bounded in connections and time and stays on loopback; no test sleeps a fixed
time: each waits for a condition with a deadline, and asserts "answers within N s" with N far
above the normal answer time (milliseconds).
"""
from __future__ import annotations

import http.client
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.live import PYTHON, ROOT, LiveHub, free_port, hub_env, stop_process, wait_http
from tests.ops.slow_clients import SlowClients, readable_within

ANSWER_S = 5.0  # "answers quickly enough": normal answers take milliseconds
THREADS = 4


@dataclass
class Server:
    url: str
    port: int
    proc: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _start(tmp_path: Path, **limits: str) -> Server:
    port = free_port()
    env = hub_env(tmp_path / "data", port, {
        "HUB_ACCESS_LOG": "", "HUB_HEADER_TIMEOUT": "1", "HUB_BODY_TIMEOUT": "1", "HUB_BODY_MIN_RATE": "1000",
        "HUB_MAX_STREAMS_PER_CLIENT": "2", **limits})
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "tests.ops.slow_app:application", "-c", str(ROOT / "hub" / "gunicorn_conf.py"),
             "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", str(THREADS)],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(url=f"http://127.0.0.1:{port}", port=port, proc=proc, log_path=log_path)
    try:
        wait_http(f"{server.url}/", timeout=30, proc=proc)
    except Exception:
        stop_process(proc)
        raise
    return server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    server = _start(tmp_path)
    try:
        yield server
    finally:
        stop_process(server.proc)


def _get(port: int, path: str = "/", timeout: float = ANSWER_S) -> tuple[int, bytes, float]:
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read(), time.monotonic() - started
    finally:
        conn.close()


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def test_slow_heads_and_small_bodies_take_no_thread_and_time_out(server: Server) -> None:
    # Ten times more slow connections than the server has threads.
    with SlowClients(server.port, headers=30, small_bodies=10, large_bodies=0, interval=0.3, duration=30,
                     head_path="/", body_path="/length") as attack:
        status, body, elapsed = _get(server.port)
        assert (status, body) == (200, b"ok")
        assert elapsed < ANSWER_S
        # The server gives up on them (HUB_HEADER_TIMEOUT / HUB_BODY_TIMEOUT = 1 s): slow heads
        # are closed, slow small bodies answered 408.
        _wait_for(lambda: attack.open_count() == 0, 15, "the server to close every slow connection")
        assert attack.snapshot().get("HTTP/1.1 408 Request Timeout", 0) >= 10, attack.snapshot()
    assert server.proc.poll() is None


def test_streamed_bodies_are_bounded_per_client_and_cut_when_too_slow(server: Server) -> None:
    # 2 streams per client (of 4 threads): the other 2 threads keep answering.
    with SlowClients(server.port, headers=0, small_bodies=0, large_bodies=6, interval=0.3, duration=30,
                     body_path="/length") as attack:
        for _ in range(3):
            status, _body, elapsed = _get(server.port)
            assert status == 200 and elapsed < ANSWER_S
        # Too slow (1 s + 1 s per 1000 bytes): cut; the ones waiting for a slot: 503.
        _wait_for(lambda: attack.open_count() == 0, 20, "the server to drop every slow upload")
        snapshot = attack.snapshot()
        assert snapshot.get("HTTP/1.1 503 Service Unavailable", 0) >= 1, snapshot
    assert server.proc.poll() is None


def test_fast_clients_are_served_as_before(server: Server) -> None:
    payload = bytes(range(256)) * (5 * 4096)  # 5 MiB: a streamed body
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        for body in (payload, b"x" * 1000, b""):  # streamed, buffered, none; one kept-alive connection
            conn.request("POST", "/length", body=body)
            response = conn.getresponse()
            assert (response.status, response.read()) == (200, str(len(body)).encode())
            assert response.getheader("Server") == "hub"
    finally:
        conn.close()
    # Pipelined requests, and a head split across many small writes (but sent quickly).
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        request = b"POST /length HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
        sock.sendall(request + b"GET / HTTP/1.1\r\nHost: x\r\n")
        for i in range(0, 20):
            sock.sendall(b"X-Part-%d: 1\r\n" % i)
        sock.sendall(b"Connection: close\r\n\r\n")
        received = b""
        while readable_within(sock, 10) and (chunk := sock.recv(65536)):
            received += chunk
    assert received.count(b"HTTP/1.1 200 OK") == 2, received
    assert received.endswith(b"ok")


def test_a_flood_of_idle_connections_cannot_lock_others_out(tmp_path: Path) -> None:
    server = _start(tmp_path, HUB_MAX_PENDING_PER_CLIENT="20", HUB_HEADER_TIMEOUT="30")
    socks: list[socket.socket] = []
    try:
        for _ in range(60):  # idle connections: no byte sent
            socks.append(socket.create_connection(("127.0.0.1", server.port), timeout=10))
        status, _body, elapsed = _get(server.port)
        assert status == 200 and elapsed < ANSWER_S
        # The oldest were closed to make room: at most the bound stays open.
        _wait_for(lambda: sum(readable_within(s, 0) for s in socks) >= 60 - 20, 10, "the oldest to be closed")
    finally:
        for sock in socks:
            sock.close()
        stop_process(server.proc)


# ------------------------------------------------------------------ the real hub, attacked


@pytest.mark.live
def test_the_hub_answers_while_slow_clients_attack(live_hub: LiveHub) -> None:
    """40 slow-header and 20 slow-body connections (more than the hub's 2 x 16 threads): the
    API keeps answering within seconds, while the attack is still under way."""
    with SlowClients(live_hub.port, headers=40, small_bodies=10, large_bodies=10, interval=0.5,
                     duration=60) as attack:
        assert attack.open_count() == 60  # every attacker is connected and sending
        for _ in range(10):
            status, _body, elapsed = _get(live_hub.port, "/api/agent-harnesses")
            assert status == 200 and elapsed < ANSWER_S, f"answered {status} after {elapsed:.1f}s"
        # The attack was still on while the API answered (heads have 10 s, bodies 30 s).
        assert attack.open_count() >= 50, attack.snapshot()


@pytest.mark.live
def test_server_header_is_neutral(live_hub: LiveHub) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", live_hub.port, timeout=10)
    try:
        conn.request("GET", "/api/agent-harnesses")
        response = conn.getresponse()
        response.read()
        assert response.getheader("Server") == "hub"
        assert not any("gunicorn" in value.lower() for _name, value in response.getheaders())
    finally:
        conn.close()
