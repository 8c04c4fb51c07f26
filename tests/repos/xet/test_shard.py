from __future__ import annotations

import io
import struct

import pytest

from repos.xet.errors import LimitExceeded, ShardFormatError, TruncatedInput, XetFormatError
from repos.xet.hashes import ZERO_HASH, chunk_hash, keyed_chunk_hash, new_dedup_key
from repos.xet.shard import (
    CHUNK_FLAG_GLOBAL_DEDUP,
    ENTRY_LEN,
    FOOTER_LEN,
    HEADER_LEN,
    HEADER_TAG,
    FileSegment,
    ShardChunk,
    ShardFile,
    ShardLimits,
    ShardXorb,
    dedup_answer_shard,
    read_shard,
    shard_bytes,
)
from tests.repos.xet.golden import Golden

X1, X2 = chunk_hash(b"xorb-1"), chunk_hash(b"xorb-2")
CH = [chunk_hash(bytes([i])) for i in range(4)]
FILE_A = ShardFile(
    chunk_hash(b"file-a"),
    (FileSegment(X1, 300, 0, 2), FileSegment(X2, 50, 1, 2)),
    (chunk_hash(b"v1"), chunk_hash(b"v2")),
    chunk_hash(b"sha"),
)
FILE_B = ShardFile(chunk_hash(b"file-b"), (FileSegment(X1, 100, 0, 1),), (chunk_hash(b"v3"),), None)
XORB_1 = ShardXorb(X1, (ShardChunk(CH[0], 0, 100), ShardChunk(CH[1], 100, 200, CHUNK_FLAG_GLOBAL_DEDUP)), 320)
XORB_2 = ShardXorb(X2, (ShardChunk(CH[2], 0, 10), ShardChunk(CH[3], 10, 50)))


def test_real_client_shard(golden: Golden) -> None:
    shard = read_shard(io.BytesIO(golden.shard))
    assert shard.footer is None  # current clients upload without footer
    assert shard.has_verification
    assert {f.file_hash.hex() for f in shard.files} == {m["hash"] for m in golden.files.values()}
    sizes = {m["hash"]: m["size"] for m in golden.files.values()}
    for f in shard.files:
        assert f.size == sizes[f.file_hash.hex()]
        assert f.verification is not None and len(f.verification) == len(f.segments)
    (block,) = shard.xorbs
    assert block.hash.hex() == golden.xorb_name and block.num_bytes_on_disk == 0


def test_upload_form_round_trip() -> None:
    body = shard_bytes(files=[FILE_A, FILE_B], xorbs=[XORB_1, XORB_2])
    assert body[:32] == HEADER_TAG and struct.unpack_from("<QQ", body, 32) == (2, 0)
    shard = read_shard(io.BytesIO(body))
    assert shard.files == (FILE_A, FILE_B) and shard.xorbs == (XORB_1, XORB_2) and shard.footer is None
    assert shard_bytes(files=shard.files, xorbs=shard.xorbs) == body


def test_full_form_round_trip_with_footer() -> None:
    body = shard_bytes(files=[FILE_A], xorbs=[XORB_1], with_footer=True, created_at=1000, key_expiry=2000)
    shard = read_shard(io.BytesIO(body))
    assert shard.footer is not None
    f = shard.footer
    assert (f.file_info_offset, f.footer_offset) == (HEADER_LEN, len(body) - FOOTER_LEN)
    assert f.chunk_lookup_num_entry == f.file_lookup_num_entry == f.xorb_lookup_num_entry == 0
    assert f.chunk_hash_hmac_key == bytes(32)
    assert (f.shard_creation_timestamp, f.shard_key_expiry) == (1000, 2000)
    assert (f.materialized_bytes, f.stored_bytes, f.stored_bytes_on_disk) == (350, 300, 320)


def test_lookup_tables_between_sections_and_footer_are_skipped() -> None:
    body = shard_bytes(xorbs=[XORB_1], with_footer=True)
    head, footer = body[:-FOOTER_LEN], bytearray(body[-FOOTER_LEN:])
    tables = b"\x01" * 24
    struct.pack_into("<Q", footer, FOOTER_LEN - 8, len(head) + len(tables))  # footer_offset moves
    assert read_shard(io.BytesIO(head + tables + bytes(footer))).xorbs == (XORB_1,)
    with pytest.raises(ShardFormatError):  # footer_offset not updated: inconsistent
        read_shard(io.BytesIO(head + tables + body[-FOOTER_LEN:]))


def test_dedup_answer_keys_every_chunk_hash() -> None:
    key = new_dedup_key()
    body = dedup_answer_shard([XORB_1, XORB_2], key=key, now=10_000, ttl_seconds=3600)
    shard = read_shard(io.BytesIO(body))
    assert shard.files == ()
    assert shard.footer is not None and shard.footer.chunk_hash_hmac_key == key
    assert shard.footer.shard_key_expiry == 13_600
    got = [c.hash for x in shard.xorbs for c in x.chunks]
    assert got == [keyed_chunk_hash(h, key=key) for h in CH]
    assert not set(got) & set(CH)  # raw chunk hashes never leave the server
    assert [c.flags for c in shard.xorbs[0].chunks] == [0, CHUNK_FLAG_GLOBAL_DEDUP]
    with pytest.raises(ValueError):
        dedup_answer_shard([], key=key, now=1, ttl_seconds=1)
    with pytest.raises(ValueError):
        shard_bytes(xorbs=[XORB_1], hmac_key=key)  # the key must travel in a footer


def test_empty_file_entry_round_trips() -> None:
    empty = ShardFile(ZERO_HASH, (), (), ZERO_HASH)
    assert read_shard(io.BytesIO(shard_bytes(files=[empty]))).files == (empty,)


# --- hostile input -----------------------------------------------------------------------------

VALID = shard_bytes(files=[FILE_A, FILE_B], xorbs=[XORB_1, XORB_2])
FILE_A_AT = HEADER_LEN
XORB_SECTION_AT = HEADER_LEN + (1 + 2 + 2 + 1) * ENTRY_LEN + (1 + 1 + 1) * ENTRY_LEN + ENTRY_LEN


def _patch(offset: int, fmt: str, *values: int) -> bytes:
    body = bytearray(VALID)
    struct.pack_into(fmt, body, offset, *values)
    return bytes(body)


def test_every_truncation_is_a_format_error() -> None:
    for cut in range(len(VALID)):
        with pytest.raises(XetFormatError):
            read_shard(io.BytesIO(VALID[:cut]))


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"X" * HEADER_LEN, ShardFormatError),  # magic
        (_patch(32, "<Q", 3), ShardFormatError),  # version
        (_patch(40, "<Q", 7), ShardFormatError),  # footer size
        (_patch(FILE_A_AT + 32, "<I", 1 << 29), ShardFormatError),  # unknown file flag
        (_patch(FILE_A_AT + 36, "<I", 2**32 - 1), LimitExceeded),  # 4 billion segments declared
        (_patch(FILE_A_AT + 36, "<I", 3), ShardFormatError),  # one entry too many: misaligned
        (_patch(FILE_A_AT + ENTRY_LEN + 40, "<II", 2, 2), ShardFormatError),  # empty chunk range
        (_patch(FILE_A_AT + ENTRY_LEN + 36, "<I", 0), ShardFormatError),  # zero-byte segment
        (_patch(XORB_SECTION_AT + 36, "<I", 2**32 - 1), LimitExceeded),  # chunk count
        (_patch(XORB_SECTION_AT + 36, "<I", 0), ShardFormatError),
        (_patch(XORB_SECTION_AT + 40, "<I", 301), ShardFormatError),  # byte count != sum
        (_patch(XORB_SECTION_AT + 2 * ENTRY_LEN + 32, "<I", 99), ShardFormatError),  # gap between chunks
        (VALID + b"\0", ShardFormatError),  # trailing bytes without a footer
    ],
)
def test_malformed_shards(body: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        read_shard(io.BytesIO(body))


def test_duplicates_and_mixed_verification_are_refused() -> None:
    with pytest.raises(ShardFormatError):
        read_shard(io.BytesIO(shard_bytes(files=[FILE_A, FILE_A])))
    with pytest.raises(ShardFormatError):
        read_shard(io.BytesIO(shard_bytes(xorbs=[XORB_1, XORB_1])))
    unverified = ShardFile(FILE_B.file_hash, FILE_B.segments, None, None)
    with pytest.raises(ShardFormatError):
        read_shard(io.BytesIO(shard_bytes(files=[FILE_A, unverified])))


def test_byte_budget() -> None:
    with pytest.raises(LimitExceeded):
        read_shard(io.BytesIO(VALID), limits=ShardLimits(max_bytes=len(VALID) - 1))
    assert read_shard(io.BytesIO(VALID), limits=ShardLimits(max_bytes=len(VALID))).files
    with pytest.raises(LimitExceeded):
        read_shard(io.BytesIO(VALID), limits=ShardLimits(max_chunks_per_xorb=1))
    body = shard_bytes(xorbs=[XORB_1], with_footer=True)
    with pytest.raises(LimitExceeded):  # bytes before the footer count too
        read_shard(io.BytesIO(body), limits=ShardLimits(max_bytes=len(body) - 1))
    with pytest.raises(TruncatedInput):
        read_shard(io.BytesIO(body[:-1]))
