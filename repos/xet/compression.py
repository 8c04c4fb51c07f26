"""Chunk payload compression schemes of xorbs (XET.md §4.4).

* ``NONE`` (0): the payload is the chunk.
* ``LZ4`` (1): one LZ4 *frame* (lz4_flex ``FrameEncoder`` on the client; ``lz4.frame`` here
  reads and writes the same format).
* ``BG4_LZ4`` (2): "byte grouping 4" then an LZ4 frame. Grouping puts bytes 0, 4, 8, ... first,
  then 1, 5, 9, ..., which turns float tensors' similar exponent bytes into long runs.

Decompression is the hostile part: a 256 KiB payload could expand to gigabytes. We decompress
with an output cap of the declared length plus one byte, so a bomb costs at most one chunk of
memory, and anything but *exactly* the declared length is an error.
"""

from __future__ import annotations

import enum
from typing import Final

import lz4.frame

from .errors import CompressionError


class CompressionScheme(enum.IntEnum):
    NONE = 0
    LZ4 = 1
    BG4_LZ4 = 2


class CompressionPolicy(enum.Enum):
    """How a server-built xorb compresses each chunk.

    ``BEST`` tries LZ4 and BG4-LZ4 and keeps the smaller (twice the CPU, used for conversions
    where storage matters more than time). Whatever the policy, a chunk that does not shrink is
    stored uncompressed, as hf_xet does.
    """

    NONE = "none"
    LZ4 = "lz4"
    BG4_LZ4 = "bg4-lz4"
    BEST = "best"


_BG4_GROUPS: Final = 4


def bg4_split(data: bytes) -> bytes:
    """Group bytes by their index modulo 4 (group 0 first). Inverse of ``bg4_regroup``."""
    return b"".join(data[g::_BG4_GROUPS] for g in range(_BG4_GROUPS))


def bg4_regroup(grouped: bytes) -> bytes:
    """Undo ``bg4_split``: the first group holds ceil(n/4) bytes, the last floor(n/4)."""
    n = len(grouped)
    out = bytearray(n)
    pos = 0
    for g in range(_BG4_GROUPS):
        size = (n - g + _BG4_GROUPS - 1) // _BG4_GROUPS
        out[g::_BG4_GROUPS] = grouped[pos : pos + size]
        pos += size
    return bytes(out)


def _lz4_compress(data: bytes) -> bytes:
    return lz4.frame.compress(data, store_size=True)


def _lz4_decompress(payload: bytes | memoryview, expected_length: int) -> bytes:
    decompressor = lz4.frame.LZ4FrameDecompressor()
    try:
        out = decompressor.decompress(payload, max_length=expected_length + 1)
    except RuntimeError as exc:  # lz4 reports every frame error as RuntimeError
        raise CompressionError(f"invalid LZ4 frame: {exc}") from None
    if len(out) != expected_length:
        raise CompressionError("LZ4 payload does not decompress to the declared chunk length")
    if not decompressor.eof or decompressor.unused_data:
        raise CompressionError("LZ4 payload is not exactly one complete frame")
    return out


def compress(data: bytes, scheme: CompressionScheme) -> bytes:
    """The payload for ``data`` under ``scheme`` (may be larger than ``data``)."""
    if scheme is CompressionScheme.NONE:
        return data
    if scheme is CompressionScheme.LZ4:
        return _lz4_compress(data)
    if scheme is CompressionScheme.BG4_LZ4:
        return _lz4_compress(bg4_split(data))
    raise ValueError(f"unknown compression scheme {scheme!r}")


def decompress(payload: bytes | memoryview, scheme: int, *, expected_length: int) -> bytes:
    """The chunk bytes of ``payload``; raises ``CompressionError`` unless exactly
    ``expected_length`` bytes come out of a well-formed payload."""
    if scheme == CompressionScheme.NONE:
        if len(payload) != expected_length:
            raise CompressionError("uncompressed payload length differs from the declared chunk length")
        return bytes(payload)
    if scheme == CompressionScheme.LZ4:
        return _lz4_decompress(payload, expected_length)
    if scheme == CompressionScheme.BG4_LZ4:
        return bg4_regroup(_lz4_decompress(payload, expected_length))
    raise CompressionError(f"unknown compression scheme {scheme}")


def choose_and_compress(data: bytes, policy: CompressionPolicy) -> tuple[CompressionScheme, bytes]:
    """Pick the scheme for one chunk under ``policy``; fall back to ``NONE`` unless it shrinks."""
    candidates: list[CompressionScheme]
    if policy is CompressionPolicy.NONE:
        candidates = []
    elif policy is CompressionPolicy.LZ4:
        candidates = [CompressionScheme.LZ4]
    elif policy is CompressionPolicy.BG4_LZ4:
        candidates = [CompressionScheme.BG4_LZ4]
    else:
        candidates = [CompressionScheme.LZ4, CompressionScheme.BG4_LZ4]
    best: tuple[CompressionScheme, bytes] = (CompressionScheme.NONE, data)
    for scheme in candidates:
        payload = compress(data, scheme)
        if len(payload) < len(best[1]):
            best = (scheme, payload)
    return best
