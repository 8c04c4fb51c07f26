"""Chunking must be byte-exact with hf_xet: checked through ``hf_xet.hash_files``, whose file
hash depends on every chunk boundary and every chunk's bytes."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repos.xet.chunking import (
    MAX_CHUNK_SIZE,
    MIN_CHUNK_SIZE,
    Chunker,
    _candidates,
    chunk_bytes,
    iter_chunk_data,
)
from repos.xet.gear_table import GEAR_TABLE
from repos.xet.hashes import file_hash

Oracle = Callable[[Sequence[bytes]], list[str]]


def _file_hash(data: bytes) -> str:
    return file_hash([(c.hash, c.size) for c in chunk_bytes(data)]).hex()


def _trigger_window() -> bytes:
    """64 bytes whose gear hash passes the boundary mask: planting them forces a candidate."""
    blob = random.Random(7).randbytes(1 << 20)
    cands = _candidates(b"", memoryview(blob), 0)
    return blob[cands[0] - 64 : cands[0]]


TRIGGER = _trigger_window()


def test_sizes_at_and_around_chunk_limits_match_hf_xet(xet_file_hashes: Oracle) -> None:
    rng = random.Random(1)
    sizes = [0, 1, 63, 64, MIN_CHUNK_SIZE - 1, MIN_CHUNK_SIZE, MIN_CHUNK_SIZE + 1, 65536]
    sizes += [MAX_CHUNK_SIZE - 1, MAX_CHUNK_SIZE, MAX_CHUNK_SIZE + 1, 2 * MAX_CHUNK_SIZE + 1]
    datas = [rng.randbytes(n) for n in sizes]
    assert [_file_hash(d) for d in datas] == xet_file_hashes(datas)


def test_random_repetitive_and_constant_data_match_hf_xet(xet_file_hashes: Oracle) -> None:
    rng = random.Random(2)
    text = b"".join(f"{i} the same old line of text, repeated\n".encode() for i in range(20_000))
    datas = [rng.randbytes(1_000_000), text, bytes(700_000), b"\x3b" * 400_000, rng.randbytes(300) * 2000]
    assert [_file_hash(d) for d in datas] == xet_file_hashes(datas)


def test_triggers_just_before_at_and_after_the_minimum_match_hf_xet(xet_file_hashes: Oracle) -> None:
    """Matches inside the first MIN bytes of a chunk must be ignored; one at exactly MIN taken.

    Planting the trigger every ``MIN - 64 + k`` bytes puts candidates at every offset around the
    minimum relative to the previous cut (and, with k=0..127, both sides of it)."""
    rng = random.Random(3)
    datas = []
    for k in range(0, 128, 9):
        unit = TRIGGER + rng.randbytes(MIN_CHUNK_SIZE - 128 + k)
        datas.append((unit * (250_000 // len(unit) + 1))[:250_000])
    for pad in (0, 1, 5, 64, 100):  # dense triggers: candidates everywhere
        datas.append(((TRIGGER + bytes(pad)) * 4000)[:200_000])
    mine = [_file_hash(d) for d in datas]
    assert mine == xet_file_hashes(datas)
    # and the planted data did produce chunks of exactly the minimum size
    assert any(c.size == MIN_CHUNK_SIZE for d in datas for c in chunk_bytes(d)[:-1])


def _scalar_candidates(data: bytes) -> list[int]:
    """Reference: the rolling hash as the client computes it, byte by byte."""
    out, h = [], 0
    for i, b in enumerate(data):
        h = ((h << 1) + GEAR_TABLE[b]) & 0xFFFFFFFFFFFFFFFF
        if i >= 63 and h >> 48 == 0:
            out.append(i + 1)
    return out


def test_vectorised_window_hash_equals_the_rolling_hash() -> None:
    data = random.Random(4).randbytes(150_000) + TRIGGER + bytes(500) + TRIGGER
    expected = _scalar_candidates(data)
    assert len(expected) >= 2
    assert _candidates(b"", memoryview(data), 0) == expected
    # Same positions when the data arrives after a history window.
    assert _candidates(data[:1000][-63:], memoryview(data[1000:]), 1000) == [p for p in expected if p > 1000]


def test_chunk_sizes_stay_within_limits() -> None:
    data = random.Random(5).randbytes(2_000_000) + bytes(400_000)
    sizes = [c.size for c in chunk_bytes(data)]
    assert sum(sizes) == len(data)
    assert all(MIN_CHUNK_SIZE <= s <= MAX_CHUNK_SIZE for s in sizes[:-1])
    assert MAX_CHUNK_SIZE in sizes  # zeros never trigger: forced cuts at the maximum


BLOCK_DATA = (random.Random(6).randbytes(150_000) + (TRIGGER + bytes(7)) * 300)[:200_000]
ONE_SHOT = list(iter_chunk_data([BLOCK_DATA]))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(BLOCK_DATA)), max_size=12))
def test_result_does_not_depend_on_block_boundaries(cuts: list[int]) -> None:
    points = [0, *sorted(cuts), len(BLOCK_DATA)]
    blocks = [BLOCK_DATA[a:b] for a, b in zip(points, points[1:], strict=False)]
    assert list(iter_chunk_data(blocks)) == ONE_SHOT


def test_byte_by_byte_feeding_near_the_start() -> None:
    data = random.Random(8).randbytes(20_000)
    chunker = Chunker()
    out: list[bytes] = []
    for i in range(0, 200):
        out += chunker.feed(data[i : i + 1])
    out += chunker.feed(memoryview(data)[200:])
    out += chunker.finish()
    assert out == list(iter_chunk_data([data]))


def test_finish_twice_and_feed_after_finish() -> None:
    chunker = Chunker()
    assert chunker.feed(b"abc") == []
    assert chunker.finish() == [b"abc"]
    assert chunker.finish() == []
    with pytest.raises(ValueError):
        chunker.feed(b"more")


def test_empty_stream_has_no_chunks() -> None:
    assert list(iter_chunk_data([])) == []
    assert list(iter_chunk_data([b"", b""])) == []
