"""Content-defined chunking, byte-exact with hf_xet (XET.md §4.3).

Only the server-side LFS -> Xet conversion needs this (clients chunk their own uploads). It must
cut exactly where hf_xet cuts, or converted files would get other chunk, xorb and file hashes
than a client computes for the same bytes, and nothing would deduplicate.

The rule (``xet_data::deduplication::Chunker`` with its hash warm-up fix):

* gear rolling hash ``h = (h << 1) + GEAR[byte]`` (mod 2**64); a cut is allowed after position
  ``p`` when ``h & 0xFFFF_0000_0000_0000 == 0``;
* a chunk is at least ``MIN_CHUNK_SIZE`` (8 KiB) and at most ``MAX_CHUNK_SIZE`` (128 KiB) long;
  at ``MAX_CHUNK_SIZE`` it is cut regardless; the last chunk of a stream is whatever remains.

Why it vectorises: a 64-bit shift pushes a byte's contribution out after 64 more bytes, so the
hash at ``p`` is a pure function of the 64 bytes before ``p`` (the window). hf_xet starts hashing
65 bytes before the minimum and ignores matches before it, so every position it tests already
has a full window. Hence the set of *candidate* positions (window hash matches the mask) does
not depend on where earlier chunks were cut, and we can compute it for a whole block with numpy
(``H_2w[i] = H_w[i] + (H_w[i-w] << w)``, six doublings to 64). Cutting is then a short scalar walk
over a handful of candidates per 64 KiB. About 10x faster than a per-byte Python loop.

Streaming: feed blocks of any size (``Chunker.feed``); results do not depend on how the stream
was split into blocks. Memory is bounded by ``MAX_CHUNK_SIZE`` plus the block being processed.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final

import numpy as np

from .gear_table import GEAR_TABLE
from .hashes import MerkleHash, chunk_hash

TARGET_CHUNK_SIZE: Final = 64 * 1024
MIN_CHUNK_SIZE: Final = TARGET_CHUNK_SIZE // 8
MAX_CHUNK_SIZE: Final = TARGET_CHUNK_SIZE * 2
# (target - 1) shifted all the way left: the top 16 bits must be zero, i.e. h < 2**48.
_MASK_LIMIT: Final = np.uint64(1 << 48)
_WINDOW: Final = 64
# Block slice hashed at once: bounds the uint64 working arrays to 8 MiB each.
_SLICE: Final = 1 << 20

_GEAR = np.array(GEAR_TABLE, dtype=np.uint64)
_SHIFTS = tuple((w, np.uint64(w)) for w in (1, 2, 4, 8, 16, 32))


def _candidates(history: bytes, block: memoryview, base: int) -> list[int]:
    """Absolute end positions ``p`` inside ``block`` whose 64-byte window hash matches.

    ``history`` holds the (up to) 63 bytes that precede ``block`` in the stream and ``base`` is
    the absolute stream offset of ``block[0]``. A position whose window is incomplete (the first
    63 bytes of the stream) is never reported; such positions are below the minimum chunk size
    anyway.
    """
    buf = np.frombuffer(history + bytes(block), dtype=np.uint8)
    # Casting the indices first is ~4x faster than letting take() convert uint8 indices itself.
    h = np.take(_GEAR, buf.astype(np.intp))
    for w, sw in _SHIFTS:
        # The right side is evaluated into a temporary first, so this reads the previous level.
        h[w:] += h[:-w] << sw
    skip = _WINDOW - 1
    if len(h) <= skip:
        return []
    hits = np.flatnonzero(h[skip:] < _MASK_LIMIT)
    # Index i of ``buf`` is the byte at absolute base - len(history) + i; the cut is after it.
    first = base - len(history) + skip + 1
    return (hits + first).tolist()


class Chunker:
    """Incremental chunker. ``feed`` blocks, then ``finish``; each returns finished chunks.

    Invariant: ``self._buf[self._cut - self._buf_start:]`` is the unfinished chunk, and
    ``self._cands[self._ci:]`` are the candidate cut positions not yet passed.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._buf_start = 0  # absolute stream offset of _buf[0]
        self._cut = 0  # absolute offset where the current (unfinished) chunk starts
        self._end = 0  # absolute offset just past the last byte fed
        self._history = b""  # last (up to) 63 bytes fed, for windows spanning blocks
        self._cands: list[int] = []
        self._ci = 0
        self._finished = False

    def feed(self, block: bytes | bytearray | memoryview) -> list[bytes]:
        """Add bytes; return the chunks that are now final."""
        if self._finished:
            raise ValueError("feed() after finish()")
        view = memoryview(block).cast("B")
        for off in range(0, len(view), _SLICE):
            part = view[off : off + _SLICE]
            self._cands.extend(_candidates(self._history, part, self._end))
            self._buf += part
            self._end += len(part)
            tail = (self._history + bytes(part[-(_WINDOW - 1) :]))[-(_WINDOW - 1) :]
            self._history = tail
        out = self._cut_ready(final=False)
        self._compact()
        return out

    def finish(self) -> list[bytes]:
        """End of stream: return the remaining chunks (the last one may be short)."""
        if self._finished:
            return []
        self._finished = True
        out = self._cut_ready(final=True)
        self._buf = bytearray()
        return out

    def _cut_ready(self, *, final: bool) -> list[bytes]:
        out: list[bytes] = []
        while self._cut < self._end:
            start = self._cut
            limit = start + MAX_CHUNK_SIZE
            i = bisect.bisect_left(self._cands, start + MIN_CHUNK_SIZE, lo=self._ci)
            self._ci = i
            if i < len(self._cands) and self._cands[i] <= min(limit, self._end):
                cut = self._cands[i]
            elif self._end >= limit:
                cut = limit
            elif final:
                cut = self._end
            else:
                break  # need more data to decide
            a, b = start - self._buf_start, cut - self._buf_start
            out.append(bytes(self._buf[a:b]))
            self._cut = cut
        return out

    def _compact(self) -> None:
        drop = self._cut - self._buf_start
        if drop:
            del self._buf[:drop]
            self._buf_start = self._cut
        # Candidates before the current chunk start can never be used again.
        if self._ci:
            del self._cands[: self._ci]
            self._ci = 0


def iter_chunk_data(blocks: Iterable[bytes | bytearray | memoryview]) -> Iterator[bytes]:
    """Chunk payloads of the stream formed by concatenating ``blocks`` (streamed)."""
    chunker = Chunker()
    for block in blocks:
        yield from chunker.feed(block)
    yield from chunker.finish()


@dataclass(frozen=True, slots=True)
class Chunk:
    """One chunk: its uncompressed bytes and its chunk hash."""

    hash: MerkleHash
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


def iter_chunks(blocks: Iterable[bytes | bytearray | memoryview]) -> Iterator[Chunk]:
    """Chunks (with hashes) of the stream formed by concatenating ``blocks``."""
    for data in iter_chunk_data(blocks):
        yield Chunk(hash=chunk_hash(data), data=data)


def chunk_bytes(data: bytes | bytearray | memoryview) -> list[Chunk]:
    """All chunks of an in-memory buffer (tests and small inputs)."""
    return list(iter_chunks([data]))
