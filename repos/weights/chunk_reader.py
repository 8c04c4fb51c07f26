"""Reading exact byte ranges of a blob into reused buffers, and comparing chunks.

Only ``readinto`` into buffers the caller reuses: memory is a handful of chunks whatever the
file sizes, and no file is ever read whole. mmap is deliberately not used: the mapped pages
would count as this process's memory (a diff would look like it holds both files), a file
truncated under a mapping kills the process with SIGBUS, and a wrapper object may expose the
``fileno()`` of bytes other than the ones it yields (decryption, ranges). Measured on the
development VM, comparing two page-cached files through mmap windows was no faster than
``readinto`` plus memcmp anyway.
"""

from __future__ import annotations

from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from repos.weights.checkpoint import Blob, InvalidWeightsFile

U8 = npt.NDArray[np.uint8]

class RangeReader:
    """Exact byte ranges of one blob through one lazily opened file object.

    Works with any object ``blob.open()`` returns: seeks when it can, otherwise reads forward
    (dropping bytes) or reopens from 0 to go back. Not thread-safe: one reader per thread.
    """

    def __init__(self, blob: Blob, *, side: str, file: str) -> None:
        self._blob = blob
        self._side = side
        self._file = file
        self._f: BinaryIO | None = None
        self._position = 0
        self._seekable = False

    def read_into(self, start: int, out: memoryview) -> None:
        """Fill ``out`` with the bytes at ``[start, start + len(out))``, or raise
        ``InvalidWeightsFile`` if the file ends first."""
        if start + len(out) > self._blob.size:
            raise self._truncated(start + len(out))
        f = self._at(start)
        filled = 0
        try:
            while filled < len(out):
                got = _readinto(f, out[filled:])
                if not got:
                    raise self._truncated(start + len(out))
                filled += got
        except BaseException:
            # Where the stream stands is unknown now: the next read starts from a fresh open.
            self.close()
            raise
        self._position = start + filled

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None

    def _at(self, start: int) -> BinaryIO:
        if self._f is None or (start < self._position and not self._seekable):
            self.close()
            self._f = self._blob.open()
            self._position = 0
            try:
                self._seekable = self._f.seekable()
            except (AttributeError, OSError, ValueError):
                self._seekable = False
        f = self._f
        if start != self._position:
            if self._seekable:
                f.seek(start)
            else:  # forward only (going back reopened above): read the gap and drop it
                _discard(f, start - self._position)
            self._position = start
        return f

    def _truncated(self, needed: int) -> InvalidWeightsFile:
        return InvalidWeightsFile(f"file ends before byte {needed} that its header promises", side=self._side,
                                  file=self._file)


def _readinto(f: BinaryIO, view: memoryview) -> int:
    readinto = getattr(f, "readinto", None)
    if readinto is not None:
        return int(readinto(view) or 0)
    data = f.read(len(view))
    view[: len(data)] = data
    return len(data)


def _discard(f: BinaryIO, n: int) -> None:
    scratch = bytearray(min(n, 1 << 16))
    view = memoryview(scratch)
    while n > 0:
        got = _readinto(f, view[: min(n, len(scratch))])
        if not got:
            return  # the next read reports the truncation with context
        n -= got


def chunk_array(buffer: bytearray, size: int) -> U8:
    """The first ``size`` bytes of ``buffer`` as a uint8 array (a view, no copy)."""
    return np.frombuffer(buffer, dtype=np.uint8, count=size)


def chunks_equal(old: bytearray, new: bytearray, size: int) -> bool:
    """Whether the first ``size`` bytes are equal, at memcmp speed: whole buffers compare with
    ``bytearray ==`` (memcmp, no temporaries); a tail chunk through 8-byte numpy views."""
    if size == len(old) == len(new):
        return old == new
    a, b = chunk_array(old, size), chunk_array(new, size)
    whole = size - size % 8
    if whole and not np.array_equal(a[:whole].view(np.uint64), b[:whole].view(np.uint64)):
        return False
    return bool(np.array_equal(a[whole:], b[whole:]))

