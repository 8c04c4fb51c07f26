"""Xorbs: parse and validate uploads, build new ones, read chunk ranges back (XET.md §4.4).

A xorb is a sequence of chunk records, each ``[8-byte header][payload]``:

====  ====  ==========================================================
off   size  field
====  ====  ==========================================================
0     1     version, always 0
1     3     payload length (u24 LE), at most 2 x 128 KiB
4     1     compression scheme (0 none, 1 LZ4 frame, 2 BG4 + LZ4 frame)
5     3     uncompressed length (u24 LE), 1 .. 128 KiB
====  ====  ==========================================================

Current clients upload the records only; clients before hf-xet ~1.1.3 appended a footer that
starts with ``XETBLOB`` (a record header never does: byte 0 is version 0). We accept that footer
only if every field agrees with what we computed from the chunks, and nothing may follow it.

What the server trusts is what ``read_xorb`` recomputes: each chunk's hash from its decompressed
bytes, and the xorb hash from those. The footer we *write* (``footer_bytes``) is the same v1
layout, so a stored object ``records + footer`` is a standard xorb and its metadata can be read
back with ``read_footer`` without decompressing anything.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Final, Protocol

from .chunking import MAX_CHUNK_SIZE, Chunk
from .compression import CompressionPolicy, choose_and_compress, decompress
from .errors import LimitExceeded, TruncatedInput, XorbFormatError, XorbHashMismatch
from .hashes import HASH_LEN, MerkleHash, chunk_hash, xorb_hash

CHUNK_HEADER_LEN: Final = 8
CHUNK_HEADER_VERSION: Final = 0
MAX_PAYLOAD_LEN: Final = 2 * MAX_CHUNK_SIZE
MAX_XORB_CHUNKS: Final = 8 * 1024
MAX_XORB_BYTES: Final = 64 * 1024 * 1024  # uncompressed, as the client packs them

FOOTER_IDENT: Final = b"XETBLOB"
_FOOTER_VERSION: Final = 1
_HASHES_IDENT: Final = b"XBLBHSH"
_HASHES_VERSION: Final = 0
_BOUNDARIES_IDENT: Final = b"XBLBBND"
_BOUNDARIES_VERSION: Final = 1
_NONCE_LEN: Final = 16
_U32: Final = struct.Struct("<I")


def footer_length(num_chunks: int) -> int:
    """Bytes of a v1 footer for ``num_chunks`` chunks, including the trailing ``info_length``."""
    return 92 + 40 * num_chunks + 4


class _Writable(Protocol):
    def write(self, data: bytes, /) -> object: ...


@dataclass(frozen=True)
class XorbLimits:
    """Bounds for one xorb. Defaults are the client's own packing limits."""

    max_chunks: int = MAX_XORB_CHUNKS
    max_uncompressed_bytes: int = MAX_XORB_BYTES

    @property
    def max_serialized_bytes(self) -> int:
        """Largest honest upload body (records, plus a legacy footer): cap Content-Length with it.

        Honest payloads never exceed the chunk (the client stores a chunk uncompressed when
        compression does not shrink it), so records take at most data + 8 bytes per chunk.
        """
        return self.max_uncompressed_bytes + CHUNK_HEADER_LEN * self.max_chunks + footer_length(self.max_chunks)


DEFAULT_LIMITS: Final = XorbLimits()


@dataclass(frozen=True, slots=True)
class ChunkRecord:
    """Where one chunk lives in a serialized xorb.

    ``offset``/``end`` delimit the record (header included) in the serialized bytes, so a fetch
    of chunks ``i..j`` is the byte range ``[chunks[i].offset, chunks[j-1].end)``.
    """

    hash: MerkleHash
    offset: int
    end: int
    uncompressed_offset: int
    uncompressed_length: int

    @property
    def uncompressed_end(self) -> int:
        return self.uncompressed_offset + self.uncompressed_length


@dataclass(frozen=True)
class XorbInfo:
    """A validated xorb's metadata: its hash and every chunk's position, size and hash."""

    hash: MerkleHash
    chunks: tuple[ChunkRecord, ...]

    @property
    def num_chunks(self) -> int:
        return len(self.chunks)

    @property
    def serialized_length(self) -> int:
        """Bytes of the chunk records (without any footer)."""
        return self.chunks[-1].end if self.chunks else 0

    @property
    def uncompressed_length(self) -> int:
        return self.chunks[-1].uncompressed_end if self.chunks else 0

    def _check_range(self, start: int, end: int) -> None:
        if not (0 <= start < end <= len(self.chunks)):
            raise IndexError(f"chunk range [{start}, {end}) is not inside a xorb of {len(self.chunks)} chunks")

    def byte_range(self, start: int, end: int) -> tuple[int, int]:
        """Serialized byte range ``[first, last)`` holding the records of chunks ``[start, end)``."""
        self._check_range(start, end)
        return self.chunks[start].offset, self.chunks[end - 1].end

    def unpacked_length(self, start: int, end: int) -> int:
        """Uncompressed bytes of chunks ``[start, end)``."""
        self._check_range(start, end)
        return self.chunks[end - 1].uncompressed_end - self.chunks[start].uncompressed_offset

    def chunk_hashes(self, start: int, end: int) -> list[MerkleHash]:
        self._check_range(start, end)
        return [c.hash for c in self.chunks[start:end]]

    def hash_pairs(self, start: int = 0, end: int | None = None) -> list[tuple[MerkleHash, int]]:
        """``(chunk hash, uncompressed size)`` of chunks ``[start, end)``: Merkle tree input."""
        stop = len(self.chunks) if end is None else end
        return [(c.hash, c.uncompressed_length) for c in self.chunks[start:stop]]


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    """Read ``n`` bytes (fewer only at EOF). Loops because sockets and WSGI inputs return short
    reads."""
    parts: list[bytes] = []
    need = n
    while need > 0:
        part = stream.read(need)
        if not part:
            break
        parts.append(part)
        need -= len(part)
    return b"".join(parts)


def _parse_header(header: bytes) -> tuple[int, int, int]:
    """(payload length, scheme, uncompressed length) of a record header, validated."""
    version = header[0]
    payload_len = int.from_bytes(header[1:4], "little")
    scheme = header[4]
    length = int.from_bytes(header[5:8], "little")
    if version != CHUNK_HEADER_VERSION:
        raise XorbFormatError(f"unsupported chunk header version {version}")
    if scheme > 2:
        raise XorbFormatError(f"unknown compression scheme {scheme}")
    if payload_len > MAX_PAYLOAD_LEN:
        raise XorbFormatError("chunk payload longer than twice the maximum chunk size")
    if length > MAX_CHUNK_SIZE:
        raise XorbFormatError("chunk longer than the maximum chunk size")
    if length == 0 or payload_len == 0:
        # The chunker never emits empty chunks; accepting them would only add odd cases.
        raise XorbFormatError("empty chunk")
    return payload_len, scheme, length


def _header(payload_len: int, scheme: int, length: int) -> bytes:
    return (
        bytes([CHUNK_HEADER_VERSION])
        + payload_len.to_bytes(3, "little")
        + bytes([scheme])
        + length.to_bytes(3, "little")
    )


def read_xorb(
    stream: BinaryIO,
    *,
    expected_hash: MerkleHash | None = None,
    sink: _Writable | None = None,
    limits: XorbLimits = DEFAULT_LIMITS,
) -> XorbInfo:
    """Parse, decompress and hash a xorb read from ``stream``; return its validated metadata.

    ``sink`` receives the chunk records exactly as uploaded (not the legacy footer) while they are
    read, so the caller can stream the body to a temporary file and keep it only if this returns.
    With ``expected_hash`` (the name in the upload URL) a different content hash raises
    ``XorbHashMismatch``. Memory: one chunk at a time plus ~150 bytes of metadata per chunk.

    Raises ``TruncatedInput``, ``LimitExceeded``, ``CompressionError``, ``XorbFormatError``.
    """
    records: list[ChunkRecord] = []
    pos = 0
    upos = 0
    while True:
        header = _read_exact(stream, CHUNK_HEADER_LEN)
        if not header:
            break
        if len(header) < CHUNK_HEADER_LEN:
            raise TruncatedInput("xorb ends inside a chunk header")
        if header.startswith(FOOTER_IDENT):
            _check_uploaded_footer(stream, header[len(FOOTER_IDENT)], records)
            break
        payload_len, scheme, length = _parse_header(header)
        if len(records) >= limits.max_chunks:
            raise LimitExceeded(f"more than {limits.max_chunks} chunks in one xorb")
        if upos + length > limits.max_uncompressed_bytes:
            raise LimitExceeded(f"xorb holds more than {limits.max_uncompressed_bytes} bytes")
        payload = _read_exact(stream, payload_len)
        if len(payload) < payload_len:
            raise TruncatedInput("xorb ends inside a chunk payload")
        data = decompress(payload, scheme, expected_length=length)
        if sink is not None:
            sink.write(header)
            sink.write(payload)
        end = pos + CHUNK_HEADER_LEN + payload_len
        records.append(ChunkRecord(chunk_hash(data), pos, end, upos, length))
        pos = end
        upos += length
    if not records:
        raise XorbFormatError("a xorb needs at least one chunk")
    info = XorbInfo(hash=xorb_hash([(c.hash, c.uncompressed_length) for c in records]), chunks=tuple(records))
    if expected_hash is not None and info.hash != expected_hash:
        raise XorbHashMismatch("the xorb's content hash differs from the hash it was uploaded under")
    return info


def _check_uploaded_footer(stream: BinaryIO, version: int, records: list[ChunkRecord]) -> None:
    """Validate a legacy footer against the records already parsed; require EOF after it."""
    if version != _FOOTER_VERSION:
        raise XorbFormatError(f"unsupported xorb footer version {version}")
    if not records:
        raise XorbFormatError("xorb footer without chunks")
    rest_len = footer_length(len(records)) - len(FOOTER_IDENT) - 1
    rest = _read_exact(stream, rest_len)
    if len(rest) < rest_len:
        raise TruncatedInput("xorb footer is truncated or does not match the chunk count")
    if stream.read(1):
        raise XorbFormatError("bytes after the xorb footer")
    blob = FOOTER_IDENT + bytes([version]) + rest
    claimed = parse_footer(blob)
    if [(c.hash, c.offset, c.end, c.uncompressed_length) for c in claimed.chunks] != [
        (c.hash, c.offset, c.end, c.uncompressed_length) for c in records
    ]:
        raise XorbFormatError("xorb footer disagrees with the chunks")
    # parse_footer checked the footer's xorb hash against its chunk list, which equals ours: so
    # the footer names the same xorb read_xorb computes.


def footer_bytes(info: XorbInfo, *, nonce: bytes = b"") -> bytes:
    """The v1 footer (``XETBLOB`` ... ``info_length``) describing ``info``'s chunks.

    Appended to the stored records it makes a standard xorb whose metadata ``read_footer`` can
    load without touching the chunk data. ``nonce`` (<= 16 bytes) is not part of any hash.
    """
    if len(nonce) > _NONCE_LEN:
        raise ValueError("the footer nonce is at most 16 bytes")
    n = len(info.chunks)
    hashes_part = _HASHES_IDENT + bytes([_HASHES_VERSION]) + _U32.pack(n) + b"".join(c.hash.raw for c in info.chunks)
    bounds_part = (
        _BOUNDARIES_IDENT
        + bytes([_BOUNDARIES_VERSION])
        + _U32.pack(n)
        + struct.pack(f"<{n}I", *(c.end for c in info.chunks))
        + struct.pack(f"<{n}I", *(c.uncompressed_end for c in info.chunks))
    )
    tail = 3 * 4 + _NONCE_LEN
    body = (
        FOOTER_IDENT
        + bytes([_FOOTER_VERSION])
        + info.hash.raw
        + hashes_part
        + bounds_part
        + _U32.pack(n)
        + _U32.pack(len(hashes_part) + len(bounds_part) + tail)
        + _U32.pack(len(bounds_part) + tail)
        + nonce.ljust(_NONCE_LEN, b"\0")
    )
    return body + _U32.pack(len(body))


def parse_footer(blob: bytes, *, limits: XorbLimits = DEFAULT_LIMITS) -> XorbInfo:
    """Metadata from a v1 footer (as written by ``footer_bytes``; trailing ``info_length``
    optional). Every count, offset and the xorb hash are checked for consistency."""
    if len(blob) < footer_length(0) - 4 or not blob.startswith(FOOTER_IDENT):
        raise XorbFormatError("not a xorb footer")
    if blob[7] != _FOOTER_VERSION:
        raise XorbFormatError(f"unsupported xorb footer version {blob[7]}")
    claimed_hash = MerkleHash(blob[8 : 8 + HASH_LEN])
    p = 8 + HASH_LEN
    if blob[p : p + 7] != _HASHES_IDENT or blob[p + 7] != _HASHES_VERSION:
        raise XorbFormatError("bad xorb footer hash section")
    (n,) = _U32.unpack_from(blob, p + 8)
    if n == 0 or n > limits.max_chunks:
        raise LimitExceeded(f"xorb footer declares {n} chunks")
    body_len = footer_length(n) - 4
    if len(blob) not in (body_len, body_len + 4):
        raise XorbFormatError("xorb footer length does not match its chunk count")
    if len(blob) == body_len + 4 and _U32.unpack_from(blob, body_len)[0] != body_len:
        raise XorbFormatError("xorb footer info_length is wrong")
    p += 12
    hashes = [MerkleHash(blob[p + i * HASH_LEN : p + (i + 1) * HASH_LEN]) for i in range(n)]
    p += n * HASH_LEN
    if blob[p : p + 7] != _BOUNDARIES_IDENT or blob[p + 7] != _BOUNDARIES_VERSION:
        raise XorbFormatError("bad xorb footer boundary section")
    if _U32.unpack_from(blob, p + 8)[0] != n:
        raise XorbFormatError("xorb footer chunk counts disagree")
    p += 12
    ends = struct.unpack_from(f"<{n}I", blob, p)
    uends = struct.unpack_from(f"<{n}I", blob, p + 4 * n)
    p += 8 * n
    n3, hashes_off, bounds_off = struct.unpack_from("<3I", blob, p)
    if n3 != n or hashes_off != 52 + 40 * n or bounds_off != 40 + 8 * n:
        raise XorbFormatError("xorb footer section offsets are wrong")
    records: list[ChunkRecord] = []
    pos = upos = 0
    for h, end, uend in zip(hashes, ends, uends, strict=True):
        size = uend - upos
        if not (CHUNK_HEADER_LEN < end - pos <= CHUNK_HEADER_LEN + MAX_PAYLOAD_LEN) or not (0 < size <= MAX_CHUNK_SIZE):
            raise XorbFormatError("xorb footer chunk boundaries are not increasing or out of bounds")
        records.append(ChunkRecord(h, pos, end, upos, size))
        pos, upos = end, uend
    if upos > limits.max_uncompressed_bytes:
        raise LimitExceeded("xorb footer declares too many bytes")
    info = XorbInfo(hash=claimed_hash, chunks=tuple(records))
    if xorb_hash(info.hash_pairs()) != claimed_hash:
        raise XorbHashMismatch("xorb footer hash is not the hash of its chunks")
    return info


def read_footer(stream: BinaryIO, *, size: int, limits: XorbLimits = DEFAULT_LIMITS) -> XorbInfo:
    """Metadata of a stored ``records + footer`` object of ``size`` bytes (seekable ``stream``).

    Reads only the footer. Also checks that the records end exactly where the footer begins.
    """
    if size < footer_length(1):
        raise XorbFormatError("stored xorb too small to hold a footer")
    stream.seek(size - 4)
    raw_len = _read_exact(stream, 4)
    if len(raw_len) < 4:
        raise TruncatedInput("stored xorb shorter than declared")
    (info_len,) = _U32.unpack(raw_len)
    if info_len > footer_length(limits.max_chunks) - 4 or info_len + 4 > size:
        raise XorbFormatError("stored xorb footer length is implausible")
    stream.seek(size - 4 - info_len)
    blob = _read_exact(stream, info_len)
    info = parse_footer(blob, limits=limits)
    if info.serialized_length != size - 4 - info_len:
        raise XorbFormatError("stored xorb records do not end where the footer starts")
    return info


def iter_chunk_data(
    stream: BinaryIO,
    records: Sequence[ChunkRecord],
    *,
    verify_hashes: bool = False,
) -> Iterator[bytes]:
    """Decompressed bytes of consecutive ``records``, read from ``stream`` positioned at
    ``records[0].offset`` (e.g. a byte-range open of ``XorbInfo.byte_range(i, j)``).

    Each header must match the metadata (a stored object that changed under us is an error, not
    silently wrong bytes). ``verify_hashes`` re-hashes every chunk: costs one BLAKE3 pass, worth it
    when the bytes come from storage the caller does not fully trust.
    """
    for rec in records:
        header = _read_exact(stream, CHUNK_HEADER_LEN)
        if len(header) < CHUNK_HEADER_LEN:
            raise TruncatedInput("stored xorb ends inside a chunk header")
        payload_len, scheme, length = _parse_header(header)
        if CHUNK_HEADER_LEN + payload_len != rec.end - rec.offset or length != rec.uncompressed_length:
            raise XorbFormatError("stored chunk header disagrees with the xorb metadata")
        payload = _read_exact(stream, payload_len)
        if len(payload) < payload_len:
            raise TruncatedInput("stored xorb ends inside a chunk payload")
        data = decompress(payload, scheme, expected_length=length)
        if verify_hashes and chunk_hash(data) != rec.hash:
            raise XorbHashMismatch("stored chunk does not hash to its recorded chunk hash")
        yield data


class XorbWriter:
    """Builds one xorb into ``out`` chunk by chunk (server-side LFS -> Xet conversion).

    Call ``fits`` before ``add``; when a chunk no longer fits, ``finish`` this writer and start a
    new one. Only the records are written unless ``finish(with_footer=True)``.
    """

    def __init__(
        self,
        out: _Writable,
        *,
        policy: CompressionPolicy = CompressionPolicy.LZ4,
        limits: XorbLimits = DEFAULT_LIMITS,
    ) -> None:
        self._out = out
        self._policy = policy
        self._limits = limits
        self._records: list[ChunkRecord] = []
        self._pos = 0
        self._upos = 0
        self._done = False

    @property
    def num_chunks(self) -> int:
        return len(self._records)

    def fits(self, size: int) -> bool:
        return len(self._records) < self._limits.max_chunks and self._upos + size <= self._limits.max_uncompressed_bytes

    def add(self, chunk: Chunk) -> ChunkRecord:
        if self._done:
            raise ValueError("add() after finish()")
        if not (0 < chunk.size <= MAX_CHUNK_SIZE):
            raise ValueError("a chunk holds 1 to 128 KiB")
        if not self.fits(chunk.size):
            raise LimitExceeded("chunk does not fit into this xorb")
        scheme, payload = choose_and_compress(chunk.data, self._policy)
        self._out.write(_header(len(payload), scheme, chunk.size))
        self._out.write(payload)
        end = self._pos + CHUNK_HEADER_LEN + len(payload)
        rec = ChunkRecord(chunk.hash, self._pos, end, self._upos, chunk.size)
        self._records.append(rec)
        self._pos, self._upos = end, self._upos + chunk.size
        return rec

    def finish(self, *, with_footer: bool = False) -> XorbInfo:
        if not self._records:
            raise ValueError("a xorb needs at least one chunk")
        self._done = True
        info = XorbInfo(
            hash=xorb_hash([(c.hash, c.uncompressed_length) for c in self._records]), chunks=tuple(self._records)
        )
        if with_footer:
            self._out.write(footer_bytes(info))
        return info


def build_xorb(
    chunks: Iterable[Chunk],
    *,
    out: _Writable,
    policy: CompressionPolicy = CompressionPolicy.LZ4,
    with_footer: bool = False,
    limits: XorbLimits = DEFAULT_LIMITS,
) -> XorbInfo:
    """Write all ``chunks`` as one xorb into ``out``; ``LimitExceeded`` if they do not fit."""
    writer = XorbWriter(out, policy=policy, limits=limits)
    for chunk in chunks:
        writer.add(chunk)
    return writer.finish(with_footer=with_footer)
