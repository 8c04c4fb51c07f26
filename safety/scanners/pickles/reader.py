"""A forward-only, bounded reader over a binary stream, shaped for parsing pickle opcodes.

Why not `io.BufferedReader`: the pickle machine needs (a) nested windows ("at most n bytes from
here", to parse a pickle hidden inside a bytes argument without copying it), (b) skipping large
arguments without materialising them (a 4 GiB BINBYTES8 costs a seek, not 4 GiB of RAM), (c)
every byte pulled from the source charged to the scan's `Budget`, and (d) optional capture of
the bytes of one pickle for the picklescan cross-check. Memory use is one chunk plus whatever a
caller asks `read_exact` for, and callers bound that.
"""

from __future__ import annotations

import io
from typing import Protocol

from safety.budget import Budget, LimitExceeded

_CHUNK = 1 << 20
_NO_LIMIT = 1 << 62


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


class EndOfData(Exception):
    """The stream, or the current window, ended before the bytes an opcode needs."""


class SourceError(EndOfData):
    """Reading the underlying stream failed (a corrupt compressed stream, an I/O error): to the
    pickle being parsed this is where its bytes end, and what was found before still counts."""


class LineTooLong(Exception):
    """A newline-terminated argument is longer than the caller allows."""


class ByteReader:
    """Sequential reads with lookahead, windows and byte accounting.

    Invariants: `tell()` is the number of bytes consumed since the start of the stream (plus
    the prefix); nothing past the innermost window end is ever returned; every byte obtained
    from `raw` is charged to `budget` exactly once (skips by seek are charged too, so the byte
    budget bounds the span a scan covers, not just what it copied).
    """

    def __init__(self, raw: Readable, budget: Budget, *, prefix: bytes = b"", size: int | None = None) -> None:
        """`prefix`: bytes already taken from `raw` (a sniffed head, already charged);
        `size`: total logical size when `raw` supports `seek(n, 1)` (enables cheap skips)."""
        self._raw = raw
        self._budget = budget
        self._buf = prefix
        self._pos = 0
        self._base = 0
        self._raw_eof = False
        self._end = _NO_LIMIT
        self._limits: list[int] = []
        self._size = size
        self._capture: bytearray | None = None
        self._capture_from = 0
        self._capture_cap = 0
        self._capture_broken = False

    @classmethod
    def from_bytes(cls, data: bytes, budget: Budget) -> ByteReader:
        """A reader over bytes already in memory (and already charged)."""
        reader = cls(io.BytesIO(b""), budget, prefix=data)
        reader._raw_eof = True
        return reader

    @property
    def budget(self) -> Budget:
        return self._budget

    def check_time(self) -> None:
        self._budget.check_time()

    # -- position and windows ------------------------------------------------------------
    def tell(self) -> int:
        return self._base + self._pos

    def push_limit(self, n: int) -> None:
        """Restrict reads to the next `n` bytes until `pop_limit`."""
        self._limits.append(self._end)
        self._end = min(self._end, self.tell() + n)

    def pop_limit(self) -> None:
        self._end = self._limits.pop()

    def remaining_in_window(self) -> int:
        return self._end - self.tell()

    # -- capture (for the cross-check) ---------------------------------------------------
    def start_capture(self, cap: int) -> None:
        self._capture = bytearray()
        self._capture_from = self.tell()
        self._capture_cap = cap
        self._capture_broken = False

    def stop_capture(self) -> bytes | None:
        """The bytes consumed since `start_capture`, or None if they exceeded the cap."""
        self._capture_sync()
        data, broken = self._capture, self._capture_broken
        self._capture = None
        return None if data is None or broken else bytes(data)

    def _capture_sync(self) -> None:
        if self._capture is None or self._capture_broken:
            return
        start = max(self._capture_from - self._base, 0)
        if self._pos > start:
            self._capture += self._buf[start:self._pos]
            self._capture_from = self._base + self._pos
        if len(self._capture) > self._capture_cap:
            self._capture_broken = True
            self._capture = bytearray()

    # -- filling ---------------------------------------------------------------------------
    def _fill(self, n: int) -> int:
        """Make at least `n` bytes available past the cursor if the source has them; return
        how many are available (ignoring windows)."""
        avail = len(self._buf) - self._pos
        if avail >= n or self._raw_eof:
            return avail
        self._capture_sync()
        parts = [self._buf[self._pos:]]
        self._base += self._pos
        self._pos = 0
        while avail < n:
            data = self._raw_read(max(n - avail, _CHUNK))
            if not data:
                self._raw_eof = True
                break
            self._budget.charge(len(data))
            parts.append(data)
            avail += len(data)
        self._buf = parts[1] if len(parts) == 2 and not parts[0] else b"".join(parts)
        return avail

    def _raw_read(self, n: int) -> bytes:
        try:
            return self._raw.read(n)
        except LimitExceeded:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure of the source ends the data here
            raise SourceError(f"{type(exc).__name__}: {exc}") from exc

    def _window_avail(self, n: int) -> int:
        return min(self._fill(n), self._end - self.tell())

    # -- reads -----------------------------------------------------------------------------
    def read_byte(self) -> int:
        pos = self._pos
        if pos < len(self._buf) and self._base + pos < self._end:
            self._pos = pos + 1
            return self._buf[pos]
        if self._window_avail(1) < 1:
            raise EndOfData
        self._pos += 1
        return self._buf[self._pos - 1]

    def read_exact(self, n: int) -> bytes:
        if self._window_avail(n) < n:
            raise EndOfData
        data = self._buf[self._pos:self._pos + n]
        self._pos += n
        return data

    def peek(self, n: int) -> bytes:
        avail = max(self._window_avail(n), 0)
        return self._buf[self._pos:self._pos + min(n, avail)]

    def at_end(self) -> bool:
        return self._window_avail(1) < 1

    def readline(self, max_len: int) -> bytes:
        """The bytes up to the next newline (consumed, newline excluded)."""
        head, total = self.readline_head(max_len + 1)
        if total > max_len:
            raise LineTooLong
        return head

    def readline_head(self, keep: int) -> tuple[bytes, int]:
        """Consume a line of any length; return its first `keep` bytes and its full length
        (newline excluded). Lines are streamed, so a 1 GiB protocol-0 string costs one chunk."""
        head = bytearray()
        total = 0
        while True:
            avail = self._window_avail(1)
            if avail < 1:
                raise EndOfData
            stop = self._pos + avail
            nl = self._buf.find(b"\n", self._pos, stop)
            end = nl if nl >= 0 else stop
            if len(head) < keep:
                head += self._buf[self._pos:min(end, self._pos + keep - len(head))]
            total += end - self._pos
            if nl >= 0:
                self._pos = nl + 1
                return bytes(head), total
            self._pos = end

    def skip(self, n: int) -> None:
        """Consume `n` bytes without keeping them; raises EndOfData if the stream or the window
        ends first (after consuming what there was)."""
        if n < 0:
            raise ValueError("negative skip")
        if self.tell() + n > self._end:
            self.skip(self._end - self.tell())
            raise EndOfData
        avail = len(self._buf) - self._pos
        if n <= avail:
            self._pos += n
            return
        self._pos = len(self._buf)
        self._capture_sync()
        n -= avail
        self._base += len(self._buf)
        self._buf = b""
        self._pos = 0
        if self._size is not None and n > _CHUNK and not self._raw_eof:
            seek = getattr(self._raw, "seek", None)
            if seek is not None:
                room = self._size - self._base
                jump = min(n, max(room, 0))
                seek(jump, io.SEEK_CUR)
                self._budget.charge(jump)
                self._base += jump
                self._capture_broken = self._capture is not None or self._capture_broken
                if jump < n:
                    self._raw_eof = True
                    raise EndOfData
                return
        if self._capture is not None and len(self._capture) + n > self._capture_cap:
            self._capture_broken = True  # known to overflow: do not copy on the way
            self._capture = bytearray()
        while n > 0:
            data = self._raw_read(min(n, _CHUNK))
            if not data:
                self._raw_eof = True
                raise EndOfData
            self._budget.charge(len(data))
            if self._capture is not None and not self._capture_broken:
                self._capture += data
            self._base += len(data)
            n -= len(data)
        self._capture_from = self._base
