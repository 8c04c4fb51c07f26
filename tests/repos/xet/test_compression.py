from __future__ import annotations

import os
import tracemalloc

import lz4.frame
import numpy as np
import pytest

from repos.xet.compression import (
    CompressionPolicy,
    CompressionScheme,
    bg4_regroup,
    bg4_split,
    choose_and_compress,
    compress,
    decompress,
)
from repos.xet.errors import CompressionError


@pytest.mark.parametrize("n", range(0, 10))
def test_bg4_groups_by_index_mod_4_and_inverts(n: int) -> None:
    data = bytes(range(100, 100 + n))
    grouped = bg4_split(data)
    assert grouped == data[0::4] + data[1::4] + data[2::4] + data[3::4]
    assert bg4_regroup(grouped) == data


@pytest.mark.parametrize("scheme", list(CompressionScheme))
@pytest.mark.parametrize("data", [b"a", os.urandom(5000), b"xy" * 65536])
def test_round_trip(scheme: CompressionScheme, data: bytes) -> None:
    assert decompress(compress(data, scheme), scheme, expected_length=len(data)) == data


def test_lz4_payload_is_a_standard_frame() -> None:
    data = b"hello " * 1000
    assert lz4.frame.decompress(compress(data, CompressionScheme.LZ4)) == data


def test_choose_falls_back_to_none_when_compression_does_not_shrink() -> None:
    noise = os.urandom(4096)
    assert choose_and_compress(noise, CompressionPolicy.LZ4) == (CompressionScheme.NONE, noise)
    floats = np.random.default_rng(0).normal(size=8192).astype("<f4").tobytes()
    scheme, payload = choose_and_compress(floats, CompressionPolicy.BEST)
    assert scheme is CompressionScheme.BG4_LZ4 and len(payload) < len(floats)
    scheme, payload = choose_and_compress(b"a" * 10000, CompressionPolicy.LZ4)
    assert scheme is CompressionScheme.LZ4 and len(payload) < 100


FRAME = compress(b"z" * 100_000, CompressionScheme.LZ4)


@pytest.mark.parametrize(
    ("payload", "scheme", "length"),
    [
        (FRAME, 1, 99_999),  # declared shorter than the content
        (FRAME, 1, 100_001),  # declared longer
        (FRAME[:-3], 1, 100_000),  # truncated frame
        (FRAME + b"\0", 1, 100_000),  # bytes after the frame
        (FRAME + FRAME, 1, 100_000),  # two frames
        (b"not an lz4 frame at all", 1, 10),
        (b"", 1, 0),
        (b"abc", 0, 4),  # uncompressed payload of the wrong length
        (b"abc", 3, 3),  # unknown scheme
    ],
)
def test_bad_payloads_raise_compression_error(payload: bytes, scheme: int, length: int) -> None:
    with pytest.raises(CompressionError):
        decompress(payload, scheme, expected_length=length)


def test_decompression_bomb_costs_one_chunk_of_memory() -> None:
    bomb = compress(bytes(64 * 1024 * 1024), CompressionScheme.LZ4)  # ~260 KB frame for 64 MiB
    tracemalloc.start()
    try:
        with pytest.raises(CompressionError):
            decompress(bomb, 1, expected_length=131072)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024  # the output cap stops it after one chunk, not 64 MiB
