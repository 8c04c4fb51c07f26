"""Shards: parse uploads, write shards, build global-dedup answers (XET.md §4.5, §4.6).

A shard is a 48-byte header, a file-info section, a xorb-info ("CAS info") section, each
section ended by a bookend entry (hash of all ``0xff``), then for full shards optional lookup
tables and a 200-byte footer. Every entry is 48 bytes; all integers are little-endian.

Uploads from current clients carry ``footer_size = 0`` and end after the second bookend; older
clients sent full shards (``footer_size = 200``), whose lookup tables we skip and whose footer we
parse. Parsing is sequential with a byte budget checked *before* each declared run of entries is
read, so a hostile ``num_entries = 2**32 - 1`` costs nothing; memory is ~200 bytes of Python
objects per 48-byte entry, i.e. bounded by ``ShardLimits.max_bytes``.

``read_shard`` checks *structure* only (sizes, ranges, duplicates, offsets). Whether the claims
are true (file hash, verification hashes, sha256) is ``repos.xet.verify``'s job, against the
xorbs the server holds.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Final

from .chunking import MAX_CHUNK_SIZE
from .errors import LimitExceeded, ShardFormatError, TruncatedInput
from .hashes import BOOKEND_HASH, HASH_LEN, ZERO_HASH, MerkleHash, keyed_chunk_hash
from .xorb import MAX_XORB_CHUNKS, XorbInfo

HEADER_TAG: Final = b"HFRepoMetaData\x00" + bytes(
    [85, 105, 103, 69, 106, 123, 129, 87, 131, 165, 189, 217, 92, 205, 209, 74, 169]
)
HEADER_VERSION: Final = 2
FOOTER_VERSION: Final = 1
HEADER_LEN: Final = 48
ENTRY_LEN: Final = 48
FOOTER_LEN: Final = 200

FILE_FLAG_WITH_VERIFICATION: Final = 1 << 31
FILE_FLAG_WITH_METADATA_EXT: Final = 1 << 30
_KNOWN_FILE_FLAGS: Final = FILE_FLAG_WITH_VERIFICATION | FILE_FLAG_WITH_METADATA_EXT
# Set on a xorb-info chunk entry to say "clients may ask global dedup about this chunk".
CHUNK_FLAG_GLOBAL_DEDUP: Final = 1 << 31

_ENTRY_TAIL = struct.Struct("<IIII")  # the 16 bytes after the hash of a 48-byte entry
_FILE_HEADER_TAIL = struct.Struct("<IIQ")
_FOOTER = struct.Struct("<9Q32s2Q6Q4Q")
assert len(HEADER_TAG) == 32 and _FOOTER.size == FOOTER_LEN


@dataclass(frozen=True)
class ShardLimits:
    """Bounds for one shard. The client never builds shards over 64 MiB."""

    max_bytes: int = 64 * 1024 * 1024
    max_chunks_per_xorb: int = MAX_XORB_CHUNKS


DEFAULT_LIMITS: Final = ShardLimits()


@dataclass(frozen=True, slots=True)
class FileSegment:
    """A run of chunks ``[chunk_start, chunk_end)`` of one xorb, in file order."""

    xorb_hash: MerkleHash
    unpacked_bytes: int
    chunk_start: int
    chunk_end: int
    xorb_flags: int = 0


@dataclass(frozen=True)
class ShardFile:
    """One file entry: its hash, segments, optional verification hashes and sha256.

    ``verification`` has one range hash per segment when present. ``sha256`` is in shard byte
    order (see ``repos.xet.hashes``): ``sha256.hex()`` is the ordinary sha256 hex.
    """

    file_hash: MerkleHash
    segments: tuple[FileSegment, ...]
    verification: tuple[MerkleHash, ...] | None = None
    sha256: MerkleHash | None = None

    @property
    def size(self) -> int:
        return sum(s.unpacked_bytes for s in self.segments)


@dataclass(frozen=True, slots=True)
class ShardChunk:
    """A chunk entry of the xorb-info section (``offset`` is uncompressed, as clients write it)."""

    hash: MerkleHash
    offset: int
    length: int
    flags: int = 0


@dataclass(frozen=True)
class ShardXorb:
    """A xorb-info block: which chunks (hash, uncompressed position) a xorb holds."""

    hash: MerkleHash
    chunks: tuple[ShardChunk, ...]
    num_bytes_on_disk: int = 0
    flags: int = 0

    @property
    def num_bytes(self) -> int:
        return sum(c.length for c in self.chunks)

    @classmethod
    def from_xorb_info(cls, info: XorbInfo, *, dedup_chunks: Iterable[int] = ()) -> ShardXorb:
        """The block describing a xorb we hold; chunk indices in ``dedup_chunks`` (e.g. file
        starts) get ``CHUNK_FLAG_GLOBAL_DEDUP``."""
        flagged = set(dedup_chunks)
        return cls(
            hash=info.hash,
            chunks=tuple(
                ShardChunk(
                    c.hash, c.uncompressed_offset, c.uncompressed_length, CHUNK_FLAG_GLOBAL_DEDUP if i in flagged else 0
                )
                for i, c in enumerate(info.chunks)
            ),
            num_bytes_on_disk=info.serialized_length,
        )


@dataclass(frozen=True)
class ShardFooter:
    """The 200-byte footer of a full shard. ``chunk_hash_hmac_key`` all-zero = raw chunk hashes."""

    file_info_offset: int
    xorb_info_offset: int
    file_lookup_offset: int
    file_lookup_num_entry: int
    xorb_lookup_offset: int
    xorb_lookup_num_entry: int
    chunk_lookup_offset: int
    chunk_lookup_num_entry: int
    chunk_hash_hmac_key: bytes
    shard_creation_timestamp: int
    shard_key_expiry: int
    stored_bytes_on_disk: int
    materialized_bytes: int
    stored_bytes: int
    footer_offset: int


@dataclass(frozen=True)
class Shard:
    files: tuple[ShardFile, ...]
    xorbs: tuple[ShardXorb, ...]
    footer: ShardFooter | None = None

    @property
    def has_verification(self) -> bool:
        return bool(self.files) and self.files[0].verification is not None


class _Reader:
    """Counts bytes and enforces the shard's byte budget before each read."""

    def __init__(self, stream: BinaryIO, max_bytes: int) -> None:
        self._stream = stream
        self._max = max_bytes
        self.pos = 0

    def reserve(self, n: int, what: str) -> None:
        if self.pos + n > self._max:
            raise LimitExceeded(f"shard larger than {self._max} bytes ({what})")

    def read(self, n: int, what: str) -> bytes:
        self.reserve(n, what)
        parts: list[bytes] = []
        need = n
        while need:
            part = self._stream.read(need)
            if not part:
                raise TruncatedInput(f"shard ends inside {what}")
            parts.append(part)
            need -= len(part)
        self.pos += n
        return b"".join(parts)

    def read_rest(self) -> bytes:
        """Everything up to EOF, at most the remaining budget (one byte more is an error)."""
        parts: list[bytes] = []
        left = self._max - self.pos + 1
        while left > 0:
            part = self._stream.read(min(left, 1 << 20))
            if not part:
                break
            parts.append(part)
            left -= len(part)
        data = b"".join(parts)
        if self.pos + len(data) > self._max:
            raise LimitExceeded(f"shard larger than {self._max} bytes")
        self.pos += len(data)
        return data


def _entry(raw: bytes) -> tuple[MerkleHash, tuple[int, int, int, int]]:
    return MerkleHash(raw[:HASH_LEN]), _ENTRY_TAIL.unpack_from(raw, HASH_LEN)


def _read_file(r: _Reader, file_hash: MerkleHash, flags: int, n: int) -> ShardFile:
    if flags & ~_KNOWN_FILE_FLAGS:
        raise ShardFormatError(f"unsupported file flags {flags:#x}")
    with_verification = bool(flags & FILE_FLAG_WITH_VERIFICATION)
    with_ext = bool(flags & FILE_FLAG_WITH_METADATA_EXT)
    count = n * (2 if with_verification else 1) + (1 if with_ext else 0)
    r.reserve(count * ENTRY_LEN, "file entries")
    segments: list[FileSegment] = []
    for _ in range(n):
        xorb, (xflags, nbytes, start, end) = _entry(r.read(ENTRY_LEN, "a file segment"))
        if not start < end:
            raise ShardFormatError("file segment with an empty or reversed chunk range")
        if nbytes == 0:
            raise ShardFormatError("file segment of zero bytes")
        if xorb in (BOOKEND_HASH, ZERO_HASH):
            raise ShardFormatError("file segment names no xorb")
        segments.append(FileSegment(xorb, nbytes, start, end, xflags))
    verification: tuple[MerkleHash, ...] | None = None
    if with_verification:
        verification = tuple(MerkleHash(r.read(ENTRY_LEN, "a verification entry")[:HASH_LEN]) for _ in range(n))
    sha256 = MerkleHash(r.read(ENTRY_LEN, "file metadata")[:HASH_LEN]) if with_ext else None
    return ShardFile(file_hash, tuple(segments), verification, sha256)


def _read_xorb(
    r: _Reader, xorb: MerkleHash, xflags: int, n: int, nbytes: int, on_disk: int, limits: ShardLimits
) -> ShardXorb:
    if n == 0:
        raise ShardFormatError("xorb-info block without chunks")
    if n > limits.max_chunks_per_xorb:
        raise LimitExceeded(f"xorb-info block declares {n} chunks")
    r.reserve(n * ENTRY_LEN, "xorb chunk entries")
    chunks: list[ShardChunk] = []
    pos = 0
    for _ in range(n):
        h, (offset, length, cflags, _unused) = _entry(r.read(ENTRY_LEN, "a xorb chunk entry"))
        if offset != pos or not 0 < length <= MAX_CHUNK_SIZE:
            raise ShardFormatError("xorb chunk entries are not contiguous or a chunk size is out of range")
        chunks.append(ShardChunk(h, offset, length, cflags))
        pos += length
    if pos != nbytes:
        raise ShardFormatError("xorb-info byte count differs from the sum of its chunks")
    return ShardXorb(xorb, tuple(chunks), on_disk, xflags)


def read_shard(stream: BinaryIO, *, limits: ShardLimits = DEFAULT_LIMITS) -> Shard:
    """Parse a shard from ``stream`` (an upload body or a stored shard).

    Raises ``TruncatedInput``, ``LimitExceeded`` or ``ShardFormatError``; never allocates from a
    declared count before the bytes for it are within budget.
    """
    r = _Reader(stream, limits.max_bytes)
    head = r.read(HEADER_LEN, "the header")
    if head[:32] != HEADER_TAG:
        raise ShardFormatError("not a shard (wrong magic)")
    version, footer_size = struct.unpack_from("<QQ", head, 32)
    if version != HEADER_VERSION:
        raise ShardFormatError(f"unsupported shard version {version}")
    if footer_size not in (0, FOOTER_LEN):
        raise ShardFormatError(f"unsupported footer size {footer_size}")

    files: list[ShardFile] = []
    seen_files: set[MerkleHash] = set()
    while True:
        raw = r.read(ENTRY_LEN, "the file-info section")
        file_hash = MerkleHash(raw[:HASH_LEN])
        flags, n, _unused = _FILE_HEADER_TAIL.unpack_from(raw, HASH_LEN)
        if file_hash == BOOKEND_HASH:
            break
        if file_hash in seen_files:
            raise ShardFormatError("a file appears twice in the shard")
        seen_files.add(file_hash)
        files.append(_read_file(r, file_hash, flags, n))
    if len({f.verification is None for f in files}) > 1:
        raise ShardFormatError("only some files carry verification entries")
    xorb_info_offset = r.pos

    xorbs: list[ShardXorb] = []
    seen_xorbs: set[MerkleHash] = set()
    while True:
        xorb, (xflags, n, nbytes, on_disk) = _entry(r.read(ENTRY_LEN, "the xorb-info section"))
        if xorb == BOOKEND_HASH:
            break
        if xorb in seen_xorbs:
            raise ShardFormatError("a xorb appears twice in the shard")
        seen_xorbs.add(xorb)
        xorbs.append(_read_xorb(r, xorb, xflags, n, nbytes, on_disk, limits))
    sections_end = r.pos

    footer = None
    if footer_size == 0:
        if stream.read(1):  # one byte is enough to refuse; never buffer a hostile tail
            raise ShardFormatError("bytes after the xorb-info section of a shard without footer")
    else:
        rest = r.read_rest()
        if len(rest) < FOOTER_LEN:
            raise TruncatedInput("shard ends before its footer")
        footer = _parse_footer(rest[-FOOTER_LEN:])
        total = sections_end + len(rest)
        if (
            footer.file_info_offset != HEADER_LEN
            or footer.xorb_info_offset != xorb_info_offset
            or footer.footer_offset != total - FOOTER_LEN
        ):
            raise ShardFormatError("shard footer offsets do not match the shard")
    return Shard(tuple(files), tuple(xorbs), footer)


def _parse_footer(raw: bytes) -> ShardFooter:
    v = _FOOTER.unpack(raw)
    if v[0] != FOOTER_VERSION:
        raise ShardFormatError(f"unsupported shard footer version {v[0]}")
    return ShardFooter(
        file_info_offset=v[1],
        xorb_info_offset=v[2],
        file_lookup_offset=v[3],
        file_lookup_num_entry=v[4],
        xorb_lookup_offset=v[5],
        xorb_lookup_num_entry=v[6],
        chunk_lookup_offset=v[7],
        chunk_lookup_num_entry=v[8],
        chunk_hash_hmac_key=v[9],
        shard_creation_timestamp=v[10],
        shard_key_expiry=v[11],
        stored_bytes_on_disk=v[18],
        materialized_bytes=v[19],
        stored_bytes=v[20],
        footer_offset=v[21],
    )


def _file_bytes(f: ShardFile) -> bytes:
    flags = (FILE_FLAG_WITH_VERIFICATION if f.verification is not None else 0) | (
        FILE_FLAG_WITH_METADATA_EXT if f.sha256 is not None else 0
    )
    out = [f.file_hash.raw + _FILE_HEADER_TAIL.pack(flags, len(f.segments), 0)]
    out += [
        s.xorb_hash.raw + _ENTRY_TAIL.pack(s.xorb_flags, s.unpacked_bytes, s.chunk_start, s.chunk_end)
        for s in f.segments
    ]
    if f.verification is not None:
        if len(f.verification) != len(f.segments):
            raise ValueError("one verification hash per segment")
        out += [h.raw + bytes(16) for h in f.verification]
    if f.sha256 is not None:
        out.append(f.sha256.raw + bytes(16))
    return b"".join(out)


def _xorb_bytes(x: ShardXorb, key: bytes | None) -> bytes:
    out = [x.hash.raw + _ENTRY_TAIL.pack(x.flags, len(x.chunks), x.num_bytes, x.num_bytes_on_disk)]
    for c in x.chunks:
        h = keyed_chunk_hash(c.hash, key=key) if key is not None else c.hash
        out.append(h.raw + _ENTRY_TAIL.pack(c.offset, c.length, c.flags, 0))
    return b"".join(out)


_BOOKEND_ENTRY: Final = BOOKEND_HASH.raw + bytes(16)


def shard_bytes(
    *,
    files: Sequence[ShardFile] = (),
    xorbs: Sequence[ShardXorb] = (),
    with_footer: bool = False,
    hmac_key: bytes | None = None,
    created_at: int = 0,
    key_expiry: int = 0,
) -> bytes:
    """Serialize a shard: upload form (``with_footer=False``, as clients send) or full form.

    Full shards get no lookup tables (clients then scan the xorb-info section, as HF's own
    minimal shards do). With ``hmac_key`` every xorb-info chunk hash is replaced by its keyed
    hash and the key is written to the footer (requires ``with_footer``).
    """
    if hmac_key is not None and not with_footer:
        raise ValueError("keyed chunk hashes need the footer that carries the key")
    header = HEADER_TAG + struct.pack("<QQ", HEADER_VERSION, FOOTER_LEN if with_footer else 0)
    file_section = b"".join(_file_bytes(f) for f in files) + _BOOKEND_ENTRY
    xorb_section = b"".join(_xorb_bytes(x, hmac_key) for x in xorbs) + _BOOKEND_ENTRY
    body = header + file_section + xorb_section
    if not with_footer:
        return body
    end = len(body)
    footer = _FOOTER.pack(
        FOOTER_VERSION,
        HEADER_LEN,
        HEADER_LEN + len(file_section),
        end,
        0,
        end,
        0,
        end,
        0,
        hmac_key if hmac_key is not None else bytes(HASH_LEN),
        created_at,
        key_expiry,
        *([0] * 6),
        sum(x.num_bytes_on_disk for x in xorbs),
        sum(f.size for f in files),
        sum(x.num_bytes for x in xorbs),
        end,
    )
    return body + footer


def dedup_answer_shard(xorbs: Sequence[ShardXorb], *, key: bytes, now: int, ttl_seconds: int) -> bytes:
    """The body of a ``GET /v1/chunks`` hit (XET.md §4.6).

    No file section; the given xorbs with every chunk hash keyed by ``key`` (use
    ``hashes.new_dedup_key()`` per answer); the client keeps using the answer until
    ``now + ttl_seconds``. The caller decides *which* xorbs: only ones the asking repository may
    read, so the answer never confirms chunks of other tenants.
    """
    if not xorbs:
        raise ValueError("a dedup answer names at least one xorb")
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    return shard_bytes(xorbs=xorbs, with_footer=True, hmac_key=key, created_at=now, key_expiry=now + ttl_seconds)
