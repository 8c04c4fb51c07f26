"""File reconstruction: from a file's segments to the answer of ``GET /v1|v2/reconstructions``,
and to the file's bytes (XET.md §3.5, §3.6, Appendix B).

A registered file is a list of segments ``(xorb, chunk range, bytes)``. For a byte range of the
file the client needs:

* ``terms``: in file order, the chunk range of each segment overlapping the byte range, trimmed
  to whole chunks that overlap it, with their total uncompressed length;
* ``offset_into_first_range``: how many bytes of the first term precede the requested start
  (the client trims the end itself);
* per xorb, fetch entries: a chunk range, the *serialized* byte range of exactly those chunk
  records (inclusive end in JSON) and a URL that serves it. Every term's chunk range must lie
  inside one entry of its xorb; we merge overlapping and adjacent ranges so a file stored in few
  xorbs needs few URLs, without ever covering a chunk the file does not use.

Everything is pure: the caller passes a ``lookup`` of xorb metadata (``XorbInfo``) and a
``url_for(xorb, start, end)`` (e.g. ``fetch_signing.fetch_url`` bound to a secret, expiry and
reader). Segments are assumed verified at registration (``repos.xet.verify``); a segment that
disagrees with its xorb here means storage changed underneath and raises ``SegmentMismatch``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, BinaryIO

from .errors import RangeNotSatisfiable, SegmentMismatch, UnknownXorb
from .hashes import MerkleHash
from .shard import FileSegment
from .xorb import XorbInfo, iter_chunk_data

XorbLookup = Callable[[MerkleHash], XorbInfo | None]
"""Metadata of a xorb the caller holds *and* may show to this reader, else ``None``."""

UrlFor = Callable[[MerkleHash, int, int], str]
"""``url_for(xorb, byte_start, byte_end_exclusive)`` -> a URL serving exactly those bytes."""

ReadChunks = Callable[[MerkleHash, int, int], Iterator[bytes]]
"""``read_chunks(xorb, chunk_start, chunk_end)`` -> the decompressed bytes of those chunks, in
order (any block sizes)."""


@dataclass(frozen=True, slots=True)
class ReconstructionTerm:
    xorb_hash: MerkleHash
    chunk_start: int
    chunk_end: int
    unpacked_length: int


@dataclass(frozen=True, slots=True)
class FetchEntry:
    """Chunks ``[chunk_start, chunk_end)`` of a xorb = serialized bytes ``[byte_start, byte_end)``."""

    xorb_hash: MerkleHash
    chunk_start: int
    chunk_end: int
    byte_start: int
    byte_end: int
    url: str


@dataclass(frozen=True)
class Reconstruction:
    offset_into_first_range: int
    terms: tuple[ReconstructionTerm, ...]
    fetch: tuple[FetchEntry, ...]

    def to_v1_json(self) -> dict[str, Any]:
        """Body of ``GET /v1/reconstructions/{file}`` (``QueryReconstructionResponse``)."""
        fetch_info: dict[str, list[dict[str, Any]]] = {}
        for e in self.fetch:
            fetch_info.setdefault(e.xorb_hash.hex(), []).append(
                {
                    "range": {"start": e.chunk_start, "end": e.chunk_end},
                    "url": e.url,
                    "url_range": {"start": e.byte_start, "end": e.byte_end - 1},
                }
            )
        return {
            "offset_into_first_range": self.offset_into_first_range,
            "terms": [_term_json(t) for t in self.terms],
            "fetch_info": fetch_info,
        }

    def to_v2_json(self) -> dict[str, Any]:
        """Body of ``GET /v2/reconstructions/{file}``: one byte range per URL, so both the default
        single-range and the multi-range client modes send single ranges."""
        xorbs: dict[str, list[dict[str, Any]]] = {}
        for e in self.fetch:
            xorbs.setdefault(e.xorb_hash.hex(), []).append(
                {
                    "url": e.url,
                    "ranges": [
                        {
                            "chunks": {"start": e.chunk_start, "end": e.chunk_end},
                            "bytes": {"start": e.byte_start, "end": e.byte_end - 1},
                        }
                    ],
                }
            )
        return {
            "offset_into_first_range": self.offset_into_first_range,
            "terms": [_term_json(t) for t in self.terms],
            "xorbs": xorbs,
        }


def _term_json(t: ReconstructionTerm) -> dict[str, Any]:
    return {
        "hash": t.xorb_hash.hex(),
        "unpacked_length": t.unpacked_length,
        "range": {"start": t.chunk_start, "end": t.chunk_end},
    }


def file_size(segments: Sequence[FileSegment]) -> int:
    return sum(s.unpacked_bytes for s in segments)


def _check_segment(info: XorbInfo, seg: FileSegment) -> None:
    if not (0 <= seg.chunk_start < seg.chunk_end <= info.num_chunks) or (
        info.unpacked_length(seg.chunk_start, seg.chunk_end) != seg.unpacked_bytes
    ):
        raise SegmentMismatch("a file segment disagrees with its xorb")


def _info(lookup: XorbLookup, seg: FileSegment) -> XorbInfo:
    info = lookup(seg.xorb_hash)
    if info is None:
        raise UnknownXorb("the file references a xorb that is not available")
    _check_segment(info, seg)
    return info


def plan_reconstruction(
    segments: Sequence[FileSegment],
    *,
    lookup: XorbLookup,
    url_for: UrlFor,
    byte_range: tuple[int, int] | None = None,
) -> Reconstruction:
    """The reconstruction answer for bytes ``[start, end)`` of the file (all of it by default).

    ``byte_range`` comes from ``http_range.parse_range`` (already clamped). A start at or past the
    end raises ``RangeNotSatisfiable``; an empty file (or empty range) gives no terms.
    """
    size = file_size(segments)
    start, end = byte_range if byte_range is not None else (0, size)
    if start < 0 or end < start:
        raise ValueError("invalid byte range")
    if start >= size and not (start == 0 and size == 0):
        raise RangeNotSatisfiable(f"range starts at {start}, file has {size} bytes")
    end = min(end, size)
    if start == end:
        return Reconstruction(0, (), ())

    terms: list[ReconstructionTerm] = []
    wanted: dict[MerkleHash, list[tuple[int, int]]] = {}
    infos: dict[MerkleHash, XorbInfo] = {}
    first_offset: int | None = None
    pos = 0
    for seg in segments:
        seg_start, seg_end = pos, pos + seg.unpacked_bytes
        pos = seg_end
        if seg_end <= start:
            continue
        if seg_start >= end:
            break
        info = infos.get(seg.xorb_hash)
        if info is None:
            info = infos[seg.xorb_hash] = _info(lookup, seg)
        else:
            _check_segment(info, seg)
        chunks = info.chunks
        cs, ce, cpos = seg.chunk_start, seg.chunk_end, seg_start
        while cs < ce and cpos + chunks[cs].uncompressed_length <= start:
            cpos += chunks[cs].uncompressed_length
            cs += 1
        if first_offset is None:
            first_offset = start - cpos
        tail = seg_end
        while ce > cs and tail - chunks[ce - 1].uncompressed_length >= end:
            tail -= chunks[ce - 1].uncompressed_length
            ce -= 1
        terms.append(ReconstructionTerm(seg.xorb_hash, cs, ce, info.unpacked_length(cs, ce)))
        wanted.setdefault(seg.xorb_hash, []).append((cs, ce))

    fetch: list[FetchEntry] = []
    for xorb, ranges in wanted.items():
        info = infos[xorb]
        for cs, ce in _merge(ranges):
            bs, be = info.byte_range(cs, ce)
            fetch.append(FetchEntry(xorb, cs, ce, bs, be, url_for(xorb, bs, be)))
    return Reconstruction(first_offset or 0, tuple(terms), tuple(fetch))


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Union of chunk ranges, merging overlapping and touching ones."""
    out: list[tuple[int, int]] = []
    for s, e in sorted(ranges):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def iter_file_bytes(
    segments: Sequence[FileSegment],
    *,
    read_chunks: ReadChunks,
    byte_range: tuple[int, int] | None = None,
    lookup: XorbLookup | None = None,
) -> Iterator[bytes]:
    """Stream bytes ``[start, end)`` of the file by reading its chunks.

    Without ``lookup`` whole segments are read and trimmed; with it, only the chunks overlapping
    the range are read (what a ranged download of a big file wants). Each segment must yield
    exactly its ``unpacked_bytes`` (else ``SegmentMismatch``), so corrupt storage cannot turn into
    a silently wrong file.
    """
    size = file_size(segments)
    start, end = byte_range if byte_range is not None else (0, size)
    end = min(end, size)
    pos = 0
    for seg in segments:
        seg_start, seg_end = pos, pos + seg.unpacked_bytes
        pos = seg_end
        if seg_end <= start:
            continue
        if seg_start >= end:
            break
        cs, ce, cpos = seg.chunk_start, seg.chunk_end, seg_start
        expected = seg.unpacked_bytes
        if lookup is not None:
            info = _info(lookup, seg)
            while cs < ce and cpos + info.chunks[cs].uncompressed_length <= start:
                cpos += info.chunks[cs].uncompressed_length
                cs += 1
            tail = seg_end
            while ce > cs and tail - info.chunks[ce - 1].uncompressed_length >= end:
                tail -= info.chunks[ce - 1].uncompressed_length
                ce -= 1
            expected = info.unpacked_length(cs, ce)
        got = 0
        for block in read_chunks(seg.xorb_hash, cs, ce):
            b0 = cpos + got
            got += len(block)
            if got > expected:
                raise SegmentMismatch("a xorb yielded more bytes than its segment declares")
            lo, hi = max(start, b0), min(end, b0 + len(block))
            if lo < hi:
                yield block[lo - b0 : hi - b0] if (lo, hi) != (b0, b0 + len(block)) else block
        if got != expected:
            raise SegmentMismatch("a xorb yielded fewer bytes than its segment declares")


def chunk_reader(
    *,
    lookup: XorbLookup,
    open_range: Callable[[MerkleHash, int, int], AbstractContextManager[BinaryIO]],
    verify_hashes: bool = False,
) -> ReadChunks:
    """A ``ReadChunks`` over stored xorbs: ``open_range(xorb, start, end)`` opens serialized bytes
    ``[start, end)`` of the stored object (the byte door's ranged open)."""

    def read_chunks(xorb: MerkleHash, chunk_start: int, chunk_end: int) -> Iterator[bytes]:
        info = lookup(xorb)
        if info is None:
            raise UnknownXorb("the file references a xorb that is not available")
        records = info.chunks[chunk_start:chunk_end]
        if len(records) != chunk_end - chunk_start or not records:
            raise SegmentMismatch("chunk range outside the xorb")
        with open_range(xorb, records[0].offset, records[-1].end) as stream:
            yield from iter_chunk_data(stream, records, verify_hashes=verify_hashes)

    return read_chunks
