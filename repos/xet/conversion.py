"""Server-side conversion of a byte stream (an LFS object) into xorbs and a Xet file entry.

Lets Xet clients download (and dedup against) files that arrived through plain git-lfs or old
clients (XET.md §6.3, option B). The chunking is byte-exact with hf_xet, so the resulting file
hash is the one a client would compute; the xorb layout may differ from what a client would have
built (no dedup against other files), which changes nothing for hashes or downloads.

Pure: the caller supplies where xorbs go (``open_xorb``/``close_xorb``, e.g. temp files of the
byte door, committed under ``XorbInfo.hash``) and registers the result.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import BinaryIO

from .chunking import iter_chunks
from .compression import CompressionPolicy
from .hashes import MerkleHash, file_hash, verification_range_hash
from .shard import FileSegment, ShardFile
from .xorb import DEFAULT_LIMITS, XorbInfo, XorbLimits, XorbWriter


@dataclass(frozen=True)
class ConvertedFile:
    file_hash: MerkleHash
    size: int
    sha256: str
    segments: tuple[FileSegment, ...]
    verification: tuple[MerkleHash, ...]
    xorbs: tuple[XorbInfo, ...]

    def shard_file(self) -> ShardFile:
        """The file entry as a client would upload it (verification + sha256 included)."""
        sha = MerkleHash.from_hex(self.sha256) if self.size else MerkleHash(bytes(32))
        return ShardFile(self.file_hash, self.segments, self.verification, sha)


def convert_stream(
    blocks: Iterable[bytes],
    *,
    open_xorb: Callable[[], BinaryIO],
    close_xorb: Callable[[BinaryIO, XorbInfo], None],
    policy: CompressionPolicy = CompressionPolicy.LZ4,
    with_footer: bool = True,
    limits: XorbLimits = DEFAULT_LIMITS,
) -> ConvertedFile:
    """Chunk, hash and pack ``blocks`` into new xorbs; return the file entry.

    Each xorb is written to a stream from ``open_xorb()`` (records, then the v1 footer when
    ``with_footer``: the storage layout ``xorb.read_footer`` expects) and handed to
    ``close_xorb(stream, info)`` once complete. Every xorb holds a contiguous run of this file's
    chunks, so each is exactly one segment. Memory: one xorb's metadata plus one chunk.
    """
    sha = hashlib.sha256()

    def hashed(src: Iterable[bytes]) -> Iterable[bytes]:
        for block in src:
            sha.update(block)
            yield block

    xorbs: list[XorbInfo] = []
    pairs: list[tuple[MerkleHash, int]] = []
    out: BinaryIO | None = None
    writer: XorbWriter | None = None

    def close() -> None:
        nonlocal out, writer
        if writer is not None and out is not None:
            info = writer.finish(with_footer=with_footer)
            close_xorb(out, info)
            xorbs.append(info)
        out, writer = None, None

    for chunk in iter_chunks(hashed(blocks)):
        if writer is None or not writer.fits(chunk.size):
            close()
            out = open_xorb()
            writer = XorbWriter(out, policy=policy, limits=limits)
        writer.add(chunk)
        pairs.append((chunk.hash, chunk.size))
    close()

    segments = tuple(FileSegment(x.hash, x.uncompressed_length, 0, x.num_chunks) for x in xorbs)
    verification = tuple(verification_range_hash(x.chunk_hashes(0, x.num_chunks)) for x in xorbs)
    size = sum(s.unpacked_bytes for s in segments)
    return ConvertedFile(file_hash(pairs), size, sha.hexdigest(), segments, verification, tuple(xorbs))
