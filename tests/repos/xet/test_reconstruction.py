from __future__ import annotations

import io
import random
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import BinaryIO

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repos.xet.chunking import Chunk
from repos.xet.errors import RangeNotSatisfiable, SegmentMismatch, UnknownXorb
from repos.xet.hashes import MerkleHash, chunk_hash
from repos.xet.reconstruction import (
    Reconstruction,
    chunk_reader,
    file_size,
    iter_file_bytes,
    plan_reconstruction,
)
from repos.xet.shard import FileSegment
from repos.xet.xorb import XorbInfo, build_xorb, iter_chunk_data

# Two xorbs of small chunks with uneven sizes; the file uses them out of order and repeats one.
_rng = random.Random(9)
STORED: dict[MerkleHash, tuple[bytes, XorbInfo]] = {}
XORBS: list[XorbInfo] = []
for _n in (6, 5):
    _chunks = []
    for _ in range(_n):
        _data = _rng.randbytes(_rng.randint(1, 700))
        _chunks.append(Chunk(chunk_hash(_data), _data))
    _out = io.BytesIO()
    _info = build_xorb(_chunks, out=_out)
    STORED[_info.hash] = (_out.getvalue(), _info)
    XORBS.append(_info)

A, B = XORBS
SEGMENTS = (
    FileSegment(A.hash, A.unpacked_length(0, 3), 0, 3),
    FileSegment(B.hash, B.unpacked_length(1, 5), 1, 5),
    FileSegment(A.hash, A.unpacked_length(3, 6), 3, 6),  # adjacent to the first A range: merged
    FileSegment(A.hash, A.unpacked_length(1, 2), 1, 2),  # repeated chunk
)


def lookup(h: MerkleHash) -> XorbInfo | None:
    entry = STORED.get(h)
    return entry[1] if entry else None


def open_range(h: MerkleHash, start: int, end: int) -> AbstractContextManager[BinaryIO]:
    return nullcontext(io.BytesIO(STORED[h][0][start:end]))


READ = chunk_reader(lookup=lookup, open_range=open_range, verify_hashes=True)
FILE = b"".join(b"".join(READ(s.xorb_hash, s.chunk_start, s.chunk_end)) for s in SEGMENTS)


def url_for(x: MerkleHash, start: int, end: int) -> str:
    return f"https://cas.test/v1/fetch/{x.hex()}?r={start}-{end - 1}"


def reconstruct_like_the_client(plan: Reconstruction, size: int) -> bytes:
    """What hf_xet does with the answer: fetch each term's bytes via a covering fetch entry,
    decompress, concatenate, skip offset_into_first_range, trim to size."""
    out = []
    for t in plan.terms:
        (entry,) = [
            e
            for e in plan.fetch
            if e.xorb_hash == t.xorb_hash and e.chunk_start <= t.chunk_start and t.chunk_end <= e.chunk_end
        ][:1]
        info = lookup(t.xorb_hash)
        assert info is not None
        assert (entry.byte_start, entry.byte_end) == info.byte_range(entry.chunk_start, entry.chunk_end)
        fetched = STORED[t.xorb_hash][0][entry.byte_start : entry.byte_end]
        data = b"".join(iter_chunk_data(io.BytesIO(fetched), info.chunks[entry.chunk_start : entry.chunk_end]))
        lo = info.chunks[t.chunk_start].uncompressed_offset - info.chunks[entry.chunk_start].uncompressed_offset
        term_bytes = data[lo : lo + t.unpacked_length]
        assert len(term_bytes) == t.unpacked_length
        out.append(term_bytes)
    return b"".join(out)[plan.offset_into_first_range :][:size]


def test_full_file_plan_and_json() -> None:
    plan = plan_reconstruction(SEGMENTS, lookup=lookup, url_for=url_for)
    assert reconstruct_like_the_client(plan, len(FILE)) == FILE
    assert plan.offset_into_first_range == 0 and len(plan.terms) == 4
    # A's ranges [0,3) + [3,6) + [1,2) merge into one entry; B has one.
    assert sorted((e.xorb_hash == A.hash, e.chunk_start, e.chunk_end) for e in plan.fetch) == [
        (False, 1, 5),
        (True, 0, 6),
    ]
    v1 = plan.to_v1_json()
    a_entry = v1["fetch_info"][A.hash.hex()][0]
    assert a_entry["range"] == {"start": 0, "end": 6}
    assert a_entry["url_range"] == {"start": 0, "end": A.serialized_length - 1}  # inclusive end
    assert v1["terms"][1] == {
        "hash": B.hash.hex(),
        "unpacked_length": B.unpacked_length(1, 5),
        "range": {"start": 1, "end": 5},
    }
    v2 = plan.to_v2_json()
    assert v2["terms"] == v1["terms"] and "fetch_info" not in v2
    (b_fetch,) = v2["xorbs"][B.hash.hex()]
    assert b_fetch["ranges"] == [
        {"chunks": {"start": 1, "end": 5}, "bytes": v1["fetch_info"][B.hash.hex()][0]["url_range"]}
    ]


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=len(FILE) - 1), st.integers(min_value=1, max_value=len(FILE) + 5))
def test_any_range_reconstructs_exactly(start: int, length: int) -> None:
    end = min(start + length, len(FILE))
    plan = plan_reconstruction(SEGMENTS, lookup=lookup, url_for=url_for, byte_range=(start, end))
    assert reconstruct_like_the_client(plan, end - start) == FILE[start:end]
    # Terms are trimmed to whole chunks that overlap the range: the first term starts before
    # `start` by less than one chunk and no fetch entry covers chunks the file does not use.
    first = plan.terms[0]
    info = lookup(first.xorb_hash)
    assert info is not None
    assert plan.offset_into_first_range < info.chunks[first.chunk_start].uncompressed_length
    assert b"".join(iter_file_bytes(SEGMENTS, read_chunks=READ, byte_range=(start, end))) == FILE[start:end]
    assert (
        b"".join(iter_file_bytes(SEGMENTS, read_chunks=READ, byte_range=(start, end), lookup=lookup)) == FILE[start:end]
    )


def test_range_past_the_end_is_416_and_empty_file_is_empty() -> None:
    with pytest.raises(RangeNotSatisfiable):
        plan_reconstruction(SEGMENTS, lookup=lookup, url_for=url_for, byte_range=(len(FILE), len(FILE) + 10))
    empty = plan_reconstruction((), lookup=lookup, url_for=url_for, byte_range=(0, 10))
    assert empty.to_v1_json() == {"offset_into_first_range": 0, "terms": [], "fetch_info": {}}
    assert file_size(SEGMENTS) == len(FILE)


def test_segment_disagreeing_with_its_xorb() -> None:
    bad = (FileSegment(A.hash, A.unpacked_length(0, 3) + 1, 0, 3),)
    with pytest.raises(SegmentMismatch):
        plan_reconstruction(bad, lookup=lookup, url_for=url_for)
    with pytest.raises(SegmentMismatch):
        list(iter_file_bytes(bad, read_chunks=READ))
    with pytest.raises(SegmentMismatch):
        plan_reconstruction((FileSegment(A.hash, 10, 5, 9),), lookup=lookup, url_for=url_for)
    with pytest.raises(UnknownXorb):
        plan_reconstruction((FileSegment(chunk_hash(b"nope"), 10, 0, 1),), lookup=lookup, url_for=url_for)


def test_reader_yielding_the_wrong_amount_is_caught() -> None:
    def short(x: MerkleHash, s: int, e: int) -> Iterator[bytes]:
        yield from list(READ(x, s, e))[:-1]

    def long(x: MerkleHash, s: int, e: int) -> Iterator[bytes]:
        yield from READ(x, s, e)
        yield b"extra"

    for reader in (short, long):
        with pytest.raises(SegmentMismatch):
            list(iter_file_bytes(SEGMENTS, read_chunks=reader))
