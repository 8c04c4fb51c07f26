"""Shard verification against the real client's upload (golden capture) and forged variants."""

from __future__ import annotations

import dataclasses
import hashlib
import io
from contextlib import AbstractContextManager, nullcontext
from typing import BinaryIO

import pytest

from repos.xet.errors import (
    FileHashMismatch,
    FileSizeLimitExceeded,
    MissingVerification,
    SegmentMismatch,
    Sha256Mismatch,
    UnknownXorb,
    VerificationHashMismatch,
    XorbBlockMismatch,
)
from repos.xet.hashes import ZERO_HASH, MerkleHash, chunk_hash
from repos.xet.reconstruction import ReadChunks, XorbLookup, chunk_reader
from repos.xet.shard import FileSegment, Shard, ShardFile, ShardXorb, read_shard, shard_bytes
from repos.xet.verify import EMPTY_SHA256, verify_file, verify_sha256, verify_shard
from repos.xet.xorb import XorbInfo, read_xorb
from tests.repos.xet.golden import Golden, golden_files


@pytest.fixture(scope="module")
def stored(golden: Golden) -> tuple[XorbInfo, Shard]:
    return read_xorb(io.BytesIO(golden.xorb)), read_shard(io.BytesIO(golden.shard))


def _env(golden: Golden, info: XorbInfo) -> tuple[XorbLookup, ReadChunks]:
    def lookup(h: MerkleHash) -> XorbInfo | None:
        return info if h == info.hash else None

    def open_range(h: MerkleHash, start: int, end: int) -> AbstractContextManager[BinaryIO]:
        return nullcontext(io.BytesIO(golden.xorb[start:end]))

    return lookup, chunk_reader(lookup=lookup, open_range=open_range)


def test_real_upload_verifies_and_reconstructs(golden: Golden, stored: tuple[XorbInfo, Shard]) -> None:
    info, shard = stored
    lookup, read = _env(golden, info)
    verified = verify_shard(shard, lookup=lookup)
    by_hash = {v.file_hash.hex(): v for v in verified}
    for name, data in golden_files().items():
        vf = by_hash[golden.files[name]["hash"]]
        assert vf.size == len(data) and vf.claimed_sha256 == hashlib.sha256(data).hexdigest()
        sink: list[bytes] = []
        assert verify_sha256(vf, read_chunks=read, sink=sink.append) == vf.claimed_sha256
        assert b"".join(sink) == data


def _first_multi_chunk_file(shard: Shard) -> ShardFile:
    return next(f for f in shard.files if f.segments[0].chunk_end - f.segments[0].chunk_start > 1)


def test_forgeries_are_refused(golden: Golden, stored: tuple[XorbInfo, Shard]) -> None:
    info, shard = stored
    lookup, read = _env(golden, info)
    f = _first_multi_chunk_file(shard)
    seg = f.segments[0]
    assert f.verification is not None
    cases: list[tuple[ShardFile, type[Exception]]] = [
        (dataclasses.replace(f, file_hash=chunk_hash(b"someone else's file")), FileHashMismatch),
        (dataclasses.replace(f, verification=(chunk_hash(b"guessed"),)), VerificationHashMismatch),
        (dataclasses.replace(f, verification=None), MissingVerification),
        # one chunk fewer, byte count adjusted: the range is valid, the file hash is not
        (
            dataclasses.replace(
                f,
                segments=(
                    FileSegment(
                        seg.xorb_hash,
                        info.unpacked_length(seg.chunk_start, seg.chunk_end - 1),
                        seg.chunk_start,
                        seg.chunk_end - 1,
                    ),
                ),
            ),
            VerificationHashMismatch,
        ),
        (
            dataclasses.replace(f, segments=(dataclasses.replace(seg, unpacked_bytes=seg.unpacked_bytes + 1),)),
            SegmentMismatch,
        ),
        (dataclasses.replace(f, segments=(dataclasses.replace(seg, chunk_end=info.num_chunks + 1),)), SegmentMismatch),
        (dataclasses.replace(f, segments=(dataclasses.replace(seg, xorb_hash=chunk_hash(b"private")),)), UnknownXorb),
    ]
    for forged, error in cases:
        with pytest.raises(error):
            verify_file(forged, lookup=lookup)


def test_unknown_and_invisible_xorbs_look_the_same(golden: Golden, stored: tuple[XorbInfo, Shard]) -> None:
    info, shard = stored
    f = shard.files[0]
    messages = set()
    for lookup in (lambda h: None, lambda h: info if h != info.hash else None):
        with pytest.raises(UnknownXorb) as exc:
            verify_file(f, lookup=lookup)
        messages.add(str(exc.value))
    assert len(messages) == 1


def test_false_sha256_claim(golden: Golden, stored: tuple[XorbInfo, Shard]) -> None:
    info, shard = stored
    lookup, read = _env(golden, info)
    liar = dataclasses.replace(shard.files[0], sha256=MerkleHash.from_hex(hashlib.sha256(b"other").hexdigest()))
    vf = verify_file(liar, lookup=lookup)  # structure is fine ...
    with pytest.raises(Sha256Mismatch):  # ... the bytes are not
        verify_sha256(vf, read_chunks=read)
    unclaimed = verify_file(dataclasses.replace(shard.files[0], sha256=None), lookup=lookup)
    assert unclaimed.claimed_sha256 is None and len(verify_sha256(unclaimed, read_chunks=read)) == 64


def test_xorb_blocks_must_match(golden: Golden, stored: tuple[XorbInfo, Shard]) -> None:
    info, shard = stored
    lookup, _ = _env(golden, info)
    block = shard.xorbs[0]
    wrong = dataclasses.replace(block, chunks=block.chunks[:-1])
    with pytest.raises(XorbBlockMismatch):
        verify_shard(dataclasses.replace(shard, xorbs=(wrong,)), lookup=lookup)
    with pytest.raises(UnknownXorb):
        verify_shard(dataclasses.replace(shard, xorbs=(ShardXorb(chunk_hash(b"?"), block.chunks),)), lookup=lookup)


def test_size_limit_and_optional_verification(golden: Golden, stored: tuple[XorbInfo, Shard]) -> None:
    info, shard = stored
    lookup, _ = _env(golden, info)
    big = max(shard.files, key=lambda f: f.size)
    with pytest.raises(FileSizeLimitExceeded):
        verify_file(big, lookup=lookup, max_file_size=big.size - 1)
    bare = dataclasses.replace(big, verification=None)
    assert verify_file(bare, lookup=lookup, require_verification=False).size == big.size


def test_empty_file_with_the_clients_zero_sha256() -> None:
    empty = ShardFile(ZERO_HASH, (), (), ZERO_HASH)
    shard = read_shard(io.BytesIO(shard_bytes(files=[empty])))
    (vf,) = verify_shard(shard, lookup=lambda h: None)
    assert vf.size == 0 and vf.claimed_sha256 == EMPTY_SHA256
    assert verify_sha256(vf, read_chunks=lambda x, s, e: iter(())) == EMPTY_SHA256
    with pytest.raises(FileHashMismatch):
        verify_file(dataclasses.replace(empty, file_hash=chunk_hash(b"x")), lookup=lambda h: None)
