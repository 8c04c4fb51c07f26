from __future__ import annotations

import io
import random

import pytest

from repos.xet.chunking import MAX_CHUNK_SIZE, Chunk, chunk_bytes
from repos.xet.compression import CompressionPolicy, CompressionScheme, compress
from repos.xet.errors import (
    CompressionError,
    LimitExceeded,
    TruncatedInput,
    XetFormatError,
    XorbFormatError,
    XorbHashMismatch,
)
from repos.xet.hashes import MerkleHash, chunk_hash
from repos.xet.shard import read_shard
from repos.xet.xorb import (
    XorbLimits,
    XorbWriter,
    build_xorb,
    footer_bytes,
    footer_length,
    iter_chunk_data,
    parse_footer,
    read_footer,
    read_xorb,
)
from tests.repos.xet.golden import Golden


class Trickle(io.RawIOBase):
    """Returns at most 3 bytes per read, like a slow socket: parsers must loop."""

    def __init__(self, data: bytes) -> None:
        self._buf = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        chunk = self._buf.read(min(3, len(b)))
        b[: len(chunk)] = chunk
        return len(chunk)


def _chunks(n: int, seed: int = 0, size: int = 3000) -> list[Chunk]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        data = rng.randbytes(size // 2) + bytes(size // 2) if i % 2 else rng.randbytes(size)
        out.append(Chunk(chunk_hash(data), data))
    return out


def _record(payload: bytes, scheme: int, length: int, version: int = 0) -> bytes:
    return (
        bytes([version]) + len(payload).to_bytes(3, "little") + bytes([scheme]) + length.to_bytes(3, "little") + payload
    )


def test_real_client_xorb_parses_to_its_name_and_matches_its_shard(golden: Golden) -> None:
    sink = io.BytesIO()
    info = read_xorb(Trickle(golden.xorb), expected_hash=MerkleHash.from_hex(golden.xorb_name), sink=sink)  # type: ignore[arg-type]
    assert sink.getvalue() == golden.xorb  # no footer from current clients: records verbatim
    assert info.serialized_length == len(golden.xorb)
    (block,) = read_shard(io.BytesIO(golden.shard)).xorbs
    assert block.hash == info.hash
    assert [(c.hash, c.length, c.offset) for c in block.chunks] == [
        (c.hash, c.uncompressed_length, c.uncompressed_offset) for c in info.chunks
    ]


@pytest.mark.parametrize("policy", list(CompressionPolicy))
@pytest.mark.parametrize("with_footer", [False, True])
def test_build_then_read_round_trip(policy: CompressionPolicy, with_footer: bool) -> None:
    chunks = _chunks(7)
    out = io.BytesIO()
    built = build_xorb(chunks, out=out, policy=policy, with_footer=with_footer)
    body = out.getvalue()
    assert len(body) == built.serialized_length + (footer_length(7) if with_footer else 0)
    sink = io.BytesIO()
    parsed = read_xorb(io.BytesIO(body), expected_hash=built.hash, sink=sink)
    assert parsed == built
    assert sink.getvalue() == body[: built.serialized_length]
    data = b"".join(iter_chunk_data(io.BytesIO(body), parsed.chunks, verify_hashes=True))
    assert data == b"".join(c.data for c in chunks)


def test_footer_round_trip_and_read_from_stored_object() -> None:
    out = io.BytesIO()
    info = build_xorb(_chunks(5), out=out, with_footer=True)
    blob = footer_bytes(info, nonce=b"\x01\x02\x03\x04")
    assert parse_footer(blob) == info
    assert parse_footer(blob[:-4]) == info  # the trailing info_length is optional
    stored = out.getvalue()
    assert read_footer(io.BytesIO(stored), size=len(stored)) == info


def test_chunk_range_reads_only_the_named_records() -> None:
    chunks = _chunks(6)
    out = io.BytesIO()
    info = build_xorb(chunks, out=out)
    start, end = info.byte_range(2, 5)
    part = io.BytesIO(out.getvalue()[start:end])
    assert b"".join(iter_chunk_data(part, info.chunks[2:5])) == b"".join(c.data for c in chunks[2:5])
    assert info.unpacked_length(2, 5) == sum(c.size for c in chunks[2:5])
    assert info.chunk_hashes(2, 5) == [c.hash for c in chunks[2:5]]
    for bad in [(3, 3), (-1, 2), (0, 7)]:
        with pytest.raises(IndexError):
            info.byte_range(*bad)


def test_stored_record_that_changed_is_detected() -> None:
    chunks = [*_chunks(1), *_chunks(1, seed=1, size=1000)]
    out = io.BytesIO()
    info = build_xorb(chunks, out=out, policy=CompressionPolicy.NONE)
    body = bytearray(out.getvalue())
    body[20] ^= 0xFF  # flip a payload byte of chunk 0
    assert list(iter_chunk_data(io.BytesIO(bytes(body)), info.chunks))  # without verification: no error
    with pytest.raises(XorbHashMismatch):
        list(iter_chunk_data(io.BytesIO(bytes(body)), info.chunks, verify_hashes=True))
    with pytest.raises(XorbFormatError):  # header says another length than the metadata
        list(iter_chunk_data(io.BytesIO(out.getvalue()), info.chunks[1:]))


def test_writer_respects_limits() -> None:
    limits = XorbLimits(max_chunks=3, max_uncompressed_bytes=10_000)
    writer = XorbWriter(io.BytesIO(), limits=limits)
    for c in _chunks(3):
        assert writer.fits(c.size)
        writer.add(c)
    assert not writer.fits(1)
    with pytest.raises(LimitExceeded):
        writer.add(_chunks(1)[0])
    assert writer.finish().num_chunks == 3
    with pytest.raises(ValueError):
        XorbWriter(io.BytesIO()).finish()


def test_client_sized_chunks_round_trip() -> None:
    data = random.Random(1).randbytes(400_000)
    chunks = chunk_bytes(data)
    out = io.BytesIO()
    info = build_xorb(chunks, out=out)
    assert read_xorb(io.BytesIO(out.getvalue())).hash == info.hash


# --- hostile input -----------------------------------------------------------------------------

GOOD = _record(b"abc", 0, 3)
LZ4_PAYLOAD = compress(b"q" * 5000, CompressionScheme.LZ4)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"", XorbFormatError),  # no chunks
        (GOOD[:5], TruncatedInput),
        (GOOD[:-1], TruncatedInput),
        (GOOD + GOOD[:8], TruncatedInput),  # header of a second chunk without payload
        (_record(b"abc", 0, 3, version=1), XorbFormatError),
        (_record(b"abc", 3, 3), XorbFormatError),  # unknown scheme
        (_record(b"", 0, 0), XorbFormatError),  # empty chunk
        (b"\0" + (2 * MAX_CHUNK_SIZE + 1).to_bytes(3, "little") + b"\0" + (5).to_bytes(3, "little"), XorbFormatError),
        (b"\0" + (5).to_bytes(3, "little") + b"\0" + (MAX_CHUNK_SIZE + 1).to_bytes(3, "little"), XorbFormatError),
        (b"\0\xff\xff\x03\x00\x00\x01\x00", TruncatedInput),  # promises 262143 bytes, has none
        (_record(LZ4_PAYLOAD, 1, 4999), CompressionError),
        (_record(LZ4_PAYLOAD[:-2], 1, 5000), CompressionError),
        (_record(b"abcd", 0, 3), CompressionError),
        (GOOD + b"XETBLO", TruncatedInput),
        (GOOD + b"XETBLOB\x01" + b"\0" * 10, TruncatedInput),
        (GOOD + b"XETBLOB\x07" + b"\0" * 200, XorbFormatError),
        (b"XETBLOB\x01" + b"\0" * 200, XorbFormatError),  # footer without chunks
    ],
)
def test_malformed_bodies_raise_format_errors(body: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        read_xorb(io.BytesIO(body))


def test_hash_mismatch_with_the_upload_name() -> None:
    with pytest.raises(XorbHashMismatch):
        read_xorb(io.BytesIO(GOOD), expected_hash=chunk_hash(b"something else"))
    assert read_xorb(io.BytesIO(GOOD), expected_hash=chunk_hash(b"abc")).hash == chunk_hash(b"abc")


def test_count_and_size_limits_stop_before_reading_further() -> None:
    with pytest.raises(LimitExceeded):
        read_xorb(io.BytesIO(GOOD * 4), limits=XorbLimits(max_chunks=3))
    with pytest.raises(LimitExceeded):
        read_xorb(io.BytesIO(GOOD * 4), limits=XorbLimits(max_uncompressed_bytes=11))
    assert read_xorb(io.BytesIO(GOOD * 4), limits=XorbLimits(max_chunks=4, max_uncompressed_bytes=12)).num_chunks == 4


def _with_footer(n: int = 3) -> tuple[bytes, int]:
    out = io.BytesIO()
    info = build_xorb(_chunks(n), out=out, with_footer=True)
    return out.getvalue(), info.serialized_length


def test_legacy_footer_is_accepted_only_when_it_agrees() -> None:
    body, records_len = _with_footer()
    assert read_xorb(io.BytesIO(body)).serialized_length == records_len
    with pytest.raises(XorbFormatError):
        read_xorb(io.BytesIO(body + b"\0"))  # nothing may follow the footer
    for pos in [
        records_len + 8,  # xorb hash in the footer
        records_len + 8 + 32 + 12,  # first chunk hash
        len(body) - 4 - 16 - 12 - 4,  # last unpacked offset
        len(body) - 1,  # info_length
    ]:
        tampered = bytearray(body)
        tampered[pos] ^= 0x01
        with pytest.raises(XetFormatError):
            read_xorb(io.BytesIO(bytes(tampered)))


def test_footer_of_another_chunk_list_is_refused() -> None:
    body_a, len_a = _with_footer(3)
    body_b, len_b = _with_footer(4)
    with pytest.raises(XetFormatError):  # records of A followed by the footer of B
        read_xorb(io.BytesIO(body_a[:len_a] + body_b[len_b:]))


@pytest.mark.parametrize("cut", [0, 1, 50, -1])
def test_stored_object_footer_errors(cut: int) -> None:
    body, _ = _with_footer()
    with pytest.raises(XetFormatError):
        data = body[:cut] if cut else b""
        read_footer(io.BytesIO(data), size=len(data))


def test_read_footer_rejects_implausible_lengths_and_gaps() -> None:
    body, records_len = _with_footer()
    bogus = body[:-4] + (10**9).to_bytes(4, "little")
    with pytest.raises(XorbFormatError):
        read_footer(io.BytesIO(bogus), size=len(bogus))
    gap = body[:records_len] + b"\0" + body[records_len:]  # footer no longer right after the records
    with pytest.raises(XorbFormatError):
        read_footer(io.BytesIO(gap), size=len(gap))


def test_parse_footer_rejects_huge_declared_counts() -> None:
    body, records_len = _with_footer()
    blob = bytearray(body[records_len:])
    blob[8 + 32 + 8 : 8 + 32 + 12] = (2**32 - 1).to_bytes(4, "little")
    with pytest.raises(LimitExceeded):
        parse_footer(bytes(blob))
