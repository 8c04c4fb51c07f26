"""ClamAV's daemon (clamd) as the malware scanner: a small client of its INSTREAM command.

The file's bytes are streamed over clamd's socket (a unix socket or host:port), never a path:
objects may be encrypted at rest and are read through the byte door, so clamd never sees the
store. Protocol (clamd(8)): `zINSTREAM\\0`, then chunks as a 4-byte big-endian length and the
bytes, then a zero length; clamd answers one NUL-terminated line and closes the connection:
`stream: OK`, `stream: <name> FOUND` (one line per match with AllMatchScans), or
`<message> ERROR` (`INSTREAM size limit exceeded. ERROR` past its StreamMaxLength).

Bounds: a connect timeout, a timeout for each send and for the answer, a deadline for the whole
file, and `max_bytes`, which must not exceed clamd's StreamMaxLength (nor its MaxFileSize and
MaxScanSize, past which clamd answers OK without looking: set AlertExceedsMax so it says so).
A file over `max_bytes` is not sent and the result says "not scanned", never clean; so does a
`Heuristics.Limits.Exceeded.*` answer. Anything else that is not OK or FOUND (clamd
unreachable, a timeout, an ERROR answer, an answer we cannot parse) raises `ClamdError`: a scan
error, never a clean verdict.

Why our own client: the maintained synchronous clients on PyPI are `clamav-client` (GPL-2.0,
which an Apache-2.0 hub cannot import) and `clamdpy` (0.x); both keep python-clamd's design of
one timeout, no byte bound, and a size-limit answer lost to a broken pipe (clamd closes while
the client is still sending), and parse one virus name per answer. The protocol is this page.
"""
from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass
from typing import BinaryIO

from safety.scanners.pickles.verdict import AvScan

LIMITS_EXCEEDED_PREFIX = "Heuristics.Limits.Exceeded"
MAX_ANSWER_BYTES = 64 * 1024


class ClamdError(Exception):
    """clamd gave no verdict: unreachable, too slow, an ERROR answer or one we cannot read.
    The message never holds the file's bytes nor the socket's path."""


class ClamdUnavailable(ClamdError):
    """clamd could not be reached or stopped answering (worth retrying later)."""


class ClamdAnswerError(ClamdError):
    """clamd answered ERROR (e.g. "INSTREAM size limit exceeded") or something unreadable."""


@dataclass(frozen=True)
class ClamdAddress:
    """Where clamd listens: a unix socket path, or a TCP host and port."""

    unix_socket: str = ""
    host: str = ""
    port: int = 3310

    @classmethod
    def from_settings(cls, *, unix_socket: str, address: str) -> ClamdAddress | None:
        """The configured clamd (the unix socket wins), or None when neither is set.
        `address` is "host:port" (an IPv6 host in brackets: "[::1]:3310")."""
        if unix_socket:
            return cls(unix_socket=unix_socket)
        if not address:
            return None
        host, sep, port = address.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"clamd address must be host:port, not {address!r}")
        return cls(host=host.strip("[]"), port=int(port))

    def describe(self) -> str:
        return "clamd (unix socket)" if self.unix_socket else f"clamd at {self.host}:{self.port}"


@dataclass(frozen=True)
class ClamdLimits:
    """`max_bytes`: at most clamd's StreamMaxLength (default 25M there); larger files are not
    sent. `io_timeout`: one send, or the wait for the answer once the stream is sent (clamd
    scans then). `max_seconds`: the whole file."""

    max_bytes: int = 25 * 1024 * 1024
    connect_timeout: float = 5.0
    io_timeout: float = 120.0
    max_seconds: float = 600.0
    chunk_size: int = 256 * 1024


@dataclass(frozen=True)
class AvResult:
    """clamd's verdict on one file (`av_scan`), or why there is none (`not_scanned`)."""

    av_scan: AvScan | None
    not_scanned: str = ""


def _connect(address: ClamdAddress, limits: ClamdLimits) -> socket.socket:
    if address.unix_socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target: str | tuple[str, int] = address.unix_socket
    else:
        family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        target = (address.host, address.port)
    sock.settimeout(limits.connect_timeout)
    try:
        sock.connect(target)
    except OSError as exc:
        sock.close()
        raise ClamdUnavailable(f"{address.describe()} unreachable ({type(exc).__name__})") from exc
    return sock


def _read_answer(sock: socket.socket) -> str:
    """Everything clamd says until it closes (or MAX_ANSWER_BYTES)."""
    data = bytearray()
    while len(data) < MAX_ANSWER_BYTES:
        part = sock.recv(4096)
        if not part:
            break
        data += part
    return data.decode("utf-8", "replace")


def parse_answer(answer: str) -> AvResult:
    """clamd's INSTREAM answer as a result; ERROR or anything unexpected raises."""
    lines = [line.strip() for line in answer.replace("\0", "\n").splitlines() if line.strip()]
    if not lines:
        raise ClamdAnswerError("clamd closed the connection without an answer")
    names: list[str] = []
    ok = False
    for line in lines:
        if line.endswith("ERROR"):
            raise ClamdAnswerError(f"clamd: {line[:300]}")
        _, sep, rest = line.partition(": ")
        if not sep:
            raise ClamdAnswerError(f"clamd: unexpected answer {line[:300]!r}")
        if rest == "OK":
            ok = True
        elif rest.endswith(" FOUND") and rest[:-len(" FOUND")].strip():
            names.append(rest[:-len(" FOUND")].strip())
        else:
            raise ClamdAnswerError(f"clamd: unexpected answer {line[:300]!r}")
    if names and all(name.startswith(LIMITS_EXCEEDED_PREFIX) for name in names):
        return AvResult(av_scan=None, not_scanned=f"clamd's scan limits were reached ({', '.join(names)})")
    names = [name for name in names if not name.startswith(LIMITS_EXCEEDED_PREFIX)]
    if names:
        return AvResult(av_scan=AvScan(virus_found=True, virus_names=tuple(dict.fromkeys(names))))
    if not ok:
        raise ClamdAnswerError("clamd: no verdict in its answer")
    return AvResult(av_scan=AvScan(virus_found=False, virus_names=None))


def clamd_scan(f: BinaryIO, *, size: int, address: ClamdAddress, limits: ClamdLimits) -> AvResult:
    """Stream `f` (`size` bytes announced) to clamd and return its verdict. A file over
    `limits.max_bytes` (announced or read) is "not scanned"; clamd failures raise ClamdError."""
    too_large = AvResult(av_scan=None,
                         not_scanned=f"larger than the malware scanner's limit of {limits.max_bytes} bytes")
    if size > limits.max_bytes:
        return too_large
    deadline = time.monotonic() + limits.max_seconds

    def timeout() -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise ClamdUnavailable(f"clamd took more than {limits.max_seconds:g} s")
        return min(limits.io_timeout, left)

    with _connect(address, limits) as sock:
        try:
            sock.settimeout(timeout())
            sock.sendall(b"zINSTREAM\0")
            sent = 0
            while True:
                chunk = f.read(limits.chunk_size)
                if not chunk:
                    break
                sent += len(chunk)
                if sent > limits.max_bytes:  # more bytes than announced: still never partly judged
                    return too_large
                sock.settimeout(timeout())
                sock.sendall(struct.pack("!L", len(chunk)) + chunk)
            sock.settimeout(timeout())
            sock.sendall(struct.pack("!L", 0))
        except (BrokenPipeError, ConnectionResetError) as exc:
            # clamd stops reading and closes when the stream passes its StreamMaxLength; its
            # answer may still be waiting: read it, so the error says why.
            answer = ""
            for _ in range(2):  # a reset is reported once, before the answer still queued (unix sockets)
                try:
                    sock.settimeout(1.0)
                    answer = _read_answer(sock)
                    break
                except OSError:
                    continue
            if "ERROR" in answer:
                raise ClamdAnswerError(f"clamd: {answer.strip(chr(0)).strip()[:300]}") from exc
            raise ClamdUnavailable(f"{address.describe()} closed the connection ({type(exc).__name__})") from exc
        except OSError as exc:
            failed = f"{address.describe()} failed while the file was sent ({type(exc).__name__})"
            raise ClamdUnavailable(failed) from exc
        try:
            sock.settimeout(timeout())
            answer = _read_answer(sock)
        except OSError as exc:
            raise ClamdUnavailable(f"{address.describe()} gave no answer ({type(exc).__name__})") from exc
    return parse_answer(answer)


def clamd_ping(address: ClamdAddress, limits: ClamdLimits | None = None) -> bool:
    """Whether clamd answers PING with PONG (its databases are loaded then)."""
    limits = limits or ClamdLimits(io_timeout=5.0)
    try:
        with _connect(address, limits) as sock:
            sock.settimeout(limits.io_timeout)
            sock.sendall(b"zPING\0")
            return _read_answer(sock).strip("\0\n ") == "PONG"
    except (ClamdError, OSError):
        return False
