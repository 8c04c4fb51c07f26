"""Byte plumbing shared by the encryptor and the reader: fill a buffer with exactly n bytes from
a file or an iterable of chunks, and write a whole buffer to a file that may write less."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer


class _Readable(Protocol):
    def read(self, n: int = ..., /) -> bytes: ...


class Writable(Protocol):
    def write(self, data: ReadableBuffer, /) -> int | None: ...


Source = _Readable | Iterable[bytes]


class ExactReader:
    """Fills buffers with exactly the requested number of bytes from a file-like object or an
    iterable of byte chunks, and tells whether anything is left after."""

    def __init__(self, source: Source) -> None:
        if isinstance(source, (bytes, bytearray, memoryview, str)):
            raise TypeError("pass a binary file-like object or an iterable of byte chunks, not bytes or str")
        self._readinto: Callable[[memoryview], int | None] | None = getattr(source, "readinto", None)
        self._read: Callable[[int], bytes] | None = getattr(source, "read", None)
        self._iter = iter(source) if self._readinto is None and self._read is None else None  # type: ignore[arg-type]
        self._pending = memoryview(b"")

    def fill(self, view: memoryview) -> int:
        """Copy up to ``len(view)`` bytes into ``view``; fewer only at the end of the source."""
        filled, want = 0, len(view)
        while filled < want:
            if self._readinto is not None:
                got = self._readinto(view[filled:]) or 0
                if got == 0:
                    break
                filled += got
            elif self._read is not None:
                data = self._read(want - filled)
                if not data:
                    break
                if len(data) > want - filled:
                    raise ValueError("source.read(n) returned more than n bytes")
                view[filled:filled + len(data)] = data
                filled += len(data)
            else:
                if not self._pending:
                    piece = self._next_piece()
                    if piece is None:
                        break
                    self._pending = piece
                take = min(len(self._pending), want - filled)
                view[filled:filled + take] = self._pending[:take]
                self._pending = self._pending[take:]
                filled += take
        return filled

    def _next_piece(self) -> memoryview | None:
        assert self._iter is not None
        for piece in self._iter:
            if piece:
                return memoryview(piece).cast("B")
        return None

    def exhausted(self) -> bool:
        probe = bytearray(1)
        return self.fill(memoryview(probe)) == 0


def write_all(dest: Writable, view: memoryview) -> None:
    # Raw files may write less than asked; buffered ones return the full length or None.
    while view:
        written = dest.write(view)
        if written is None or written >= len(view):
            return
        view = view[written:]
