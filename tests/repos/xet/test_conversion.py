from __future__ import annotations

import hashlib
import io
import random
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import BinaryIO

from repos.xet.compression import CompressionPolicy
from repos.xet.conversion import ConvertedFile, convert_stream
from repos.xet.hashes import ZERO_HASH, MerkleHash
from repos.xet.reconstruction import chunk_reader
from repos.xet.shard import read_shard, shard_bytes
from repos.xet.verify import EMPTY_SHA256, verify_sha256, verify_shard
from repos.xet.xorb import XorbInfo, XorbLimits, read_footer
from tests.repos.xet.cas_stub import iter_blocks


class Store:
    """In-memory stand-in for the byte door: xorbs land here when closed."""

    def __init__(self) -> None:
        self.objects: dict[MerkleHash, bytes] = {}

    def open(self) -> BinaryIO:
        return io.BytesIO()

    def close(self, stream: BinaryIO, info: XorbInfo) -> None:
        assert isinstance(stream, io.BytesIO)
        self.objects[info.hash] = stream.getvalue()

    def lookup(self, h: MerkleHash) -> XorbInfo | None:
        blob = self.objects.get(h)
        return read_footer(io.BytesIO(blob), size=len(blob)) if blob is not None else None

    def open_range(self, h: MerkleHash, start: int, end: int) -> AbstractContextManager[BinaryIO]:
        return nullcontext(io.BytesIO(self.objects[h][start:end]))


def _convert(data: bytes, store: Store, **kw: object) -> ConvertedFile:
    return convert_stream(iter_blocks(data, 100_003), open_xorb=store.open, close_xorb=store.close, **kw)  # type: ignore[arg-type]


def test_converted_file_hash_is_the_clients(xet_file_hashes: Callable[[Sequence[bytes]], list[str]]) -> None:
    rng = random.Random(12)
    datas = [rng.randbytes(900_000), b"".join(b"row %d,%d\n" % (i, i * i) for i in range(60_000)), b"z"]
    store = Store()
    converted = [_convert(d, store) for d in datas]
    assert [c.file_hash.hex() for c in converted] == xet_file_hashes(datas)
    assert [c.sha256 for c in converted] == [hashlib.sha256(d).hexdigest() for d in datas]


def test_small_xorb_limits_split_into_several_xorbs_that_verify_and_reconstruct() -> None:
    data = random.Random(13).randbytes(700_000)
    store = Store()
    conv = _convert(data, store, limits=XorbLimits(max_chunks=3), policy=CompressionPolicy.BEST)
    assert len(conv.xorbs) >= 3 and len(conv.segments) == len(conv.xorbs)
    assert all(x.num_chunks <= 3 for x in conv.xorbs)
    # The entry a client would upload for it passes the server's own checks, sha256 included.
    shard = read_shard(io.BytesIO(shard_bytes(files=[conv.shard_file()])))
    (vf,) = verify_shard(shard, lookup=store.lookup)
    out: list[bytes] = []
    reader = chunk_reader(lookup=store.lookup, open_range=store.open_range, verify_hashes=True)
    assert verify_sha256(vf, read_chunks=reader, sink=out.append) == conv.sha256
    assert b"".join(out) == data


def test_empty_stream() -> None:
    conv = _convert(b"", Store())
    assert (conv.file_hash, conv.size, conv.sha256, conv.xorbs) == (ZERO_HASH, 0, EMPTY_SHA256, ())
    (vf,) = verify_shard(read_shard(io.BytesIO(shard_bytes(files=[conv.shard_file()]))), lookup=lambda h: None)
    assert vf.claimed_sha256 == EMPTY_SHA256
