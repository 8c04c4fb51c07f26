"""What the server must prove before it trusts an uploaded shard (XET.md §5.2).

A shard is only *claims*: "file F consists of these chunk ranges", "I had these bytes" (the
verification hashes), "its sha256 is S". Registering unchecked claims lets anyone poison a file
hash with other bytes, reference chunks they never had (confirmation-of-file and cross-tenant
reads), or link a sha256 to content that does not hash to it. So, per file:

1. every segment's xorb is one the uploader may see (``lookup`` returns ``None`` otherwise; the
   same ``UnknownXorb`` either way, so existence does not leak);
2. the chunk range lies in the xorb and the declared byte count is the sum of those chunks;
3. each verification hash is the keyed hash of the raw chunk hashes of its range: proof that
   the uploader had the bytes (dedup answers only ever reveal *keyed* chunk hashes);
4. the file hash is the Merkle hash of all chunks in order: binds the name to the content;
5. the sha256, by reconstructing the bytes (``verify_sha256``; the expensive step, and where the
   caller can materialise the LFS object through ``sink``).

Steps 1-4 (``verify_shard``) read only xorb metadata.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from .errors import (
    FileHashMismatch,
    FileSizeLimitExceeded,
    MissingVerification,
    SegmentMismatch,
    Sha256Mismatch,
    UnknownXorb,
    VerificationHashMismatch,
    XorbBlockMismatch,
)
from .hashes import MerkleHash, file_hash, verification_range_hash
from .reconstruction import ReadChunks, XorbLookup, iter_file_bytes
from .shard import FileSegment, Shard, ShardFile

EMPTY_SHA256: Final = hashlib.sha256(b"").hexdigest()
_UNKNOWN_XORB_MESSAGE: Final = "the shard references a xorb that does not exist or is not visible"


@dataclass(frozen=True)
class VerifiedFile:
    """A file whose segments, verification hashes and file hash were checked (steps 1-4).

    ``claimed_sha256`` is still only a claim until ``verify_sha256`` confirmed it.
    """

    file_hash: MerkleHash
    size: int
    segments: tuple[FileSegment, ...]
    claimed_sha256: str | None


def verify_file(
    f: ShardFile,
    *,
    lookup: XorbLookup,
    require_verification: bool = True,
    max_file_size: int | None = None,
) -> VerifiedFile:
    """Steps 1-4 for one file entry. ``require_verification=False`` is only for callers that
    know every referenced xorb came from this very uploader (then possession is proven by the
    xorb uploads themselves)."""
    if f.verification is None and require_verification and f.segments:
        raise MissingVerification("file entries must carry verification hashes")
    pairs: list[tuple[MerkleHash, int]] = []
    size = 0
    for i, seg in enumerate(f.segments):
        info = lookup(seg.xorb_hash)
        if info is None:
            raise UnknownXorb(_UNKNOWN_XORB_MESSAGE)
        if not (0 <= seg.chunk_start < seg.chunk_end <= info.num_chunks):
            raise SegmentMismatch("a file segment's chunk range is outside its xorb")
        if info.unpacked_length(seg.chunk_start, seg.chunk_end) != seg.unpacked_bytes:
            raise SegmentMismatch("a file segment's byte count differs from its chunks")
        if f.verification is not None and (
            verification_range_hash(info.chunk_hashes(seg.chunk_start, seg.chunk_end)) != f.verification[i]
        ):
            raise VerificationHashMismatch("a verification hash does not match the xorb's chunks")
        size += seg.unpacked_bytes
        if max_file_size is not None and size > max_file_size:
            raise FileSizeLimitExceeded(f"file larger than {max_file_size} bytes")
        pairs.extend(info.hash_pairs(seg.chunk_start, seg.chunk_end))
    if file_hash(pairs) != f.file_hash:
        raise FileHashMismatch("the file hash is not the hash of the file's chunks")
    claimed: str | None = None
    if f.sha256 is not None:
        # hf_xet writes an all-zero sha256 for an empty file (its hasher's default when fed nothing).
        claimed = EMPTY_SHA256 if not f.segments and f.sha256.is_zero else f.sha256.hex()
    return VerifiedFile(f.file_hash, size, f.segments, claimed)


def verify_xorb_blocks(shard: Shard, *, lookup: XorbLookup) -> None:
    """The shard's xorb-info blocks must describe xorbs we hold exactly as we hold them.

    Not needed for safety (we never use the client's chunk lists) but a disagreement means a
    buggy or hostile client, and clients only list xorbs they just uploaded.
    """
    for block in shard.xorbs:
        info = lookup(block.hash)
        if info is None:
            raise UnknownXorb(_UNKNOWN_XORB_MESSAGE)
        if [(c.hash, c.length) for c in block.chunks] != info.hash_pairs():
            raise XorbBlockMismatch("a xorb-info block lists other chunks than the xorb holds")


def verify_shard(
    shard: Shard,
    *,
    lookup: XorbLookup,
    require_verification: bool = True,
    max_file_size: int | None = None,
) -> list[VerifiedFile]:
    """Steps 1-4 for every file of an uploaded shard, plus ``verify_xorb_blocks``."""
    verify_xorb_blocks(shard, lookup=lookup)
    return [
        verify_file(f, lookup=lookup, require_verification=require_verification, max_file_size=max_file_size)
        for f in shard.files
    ]


def verify_sha256(
    vf: VerifiedFile,
    *,
    read_chunks: ReadChunks,
    sink: Callable[[bytes], object] | None = None,
) -> str:
    """Step 5: reconstruct the file, return its sha256 hex; ``Sha256Mismatch`` if it differs
    from the claim. ``sink`` receives every byte in order (stream it into the LFS store's temp
    file and keep the object only if this returns). Memory: one chunk."""
    hasher = hashlib.sha256()
    for block in iter_file_bytes(vf.segments, read_chunks=read_chunks):
        hasher.update(block)
        if sink is not None:
            sink(block)
    digest = hasher.hexdigest()
    if vf.claimed_sha256 is not None and vf.claimed_sha256 != digest:
        raise Sha256Mismatch("the claimed sha256 is not the sha256 of the file's bytes")
    return digest
