"""The encrypted-object header, the per-object key derivation, and cheap checks that need no
key. The format itself is described in ``format.py``."""

from __future__ import annotations

import hashlib
import hmac
import io
import struct
from dataclasses import dataclass, field
from typing import BinaryIO

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from repos.objects.crypto.errors import MalformedHeader, ObjectLengthMismatch
from repos.objects.crypto.keys import KEY_ID_MAX, DataKey, check_key_id

MAGIC = b"\x89MHENC\r\n"
VERSION = 1
TAG_SIZE = 16
SALT_SIZE = 32
KEY_CHECK_SIZE = 16
DEFAULT_CHUNK_SIZE = 64 * 1024
MIN_CHUNK_SHIFT = 10
MAX_CHUNK_SHIFT = 24
# The nonce holds the chunk index in 32 bits.
MAX_CHUNKS = 2**32
OID_MAX_BYTES = 256

_FIXED = struct.Struct(">8sBBQ32s16sB")
HEADER_MAX = _FIXED.size + KEY_ID_MAX
_CHUNK_AAD_LABEL = b"modelhub/object-chunk/v1\x00"
_OBJECT_KEY_LABEL = b"modelhub/object-key/v1\x00"
_KEY_CHECK_LABEL = b"modelhub/key-check/v1\x00"
_INDEX = struct.Struct(">QB")
_NONCE_INDEX = struct.Struct(">I")


def _lp(value: bytes) -> bytes:
    return len(value).to_bytes(2, "big") + value


def _oid_bytes(oid: str) -> bytes:
    if not isinstance(oid, str) or not oid:
        raise ValueError("oid must be a non-empty string")
    raw = oid.encode("utf-8")
    if len(raw) > OID_MAX_BYTES:
        raise ValueError(f"oid longer than {OID_MAX_BYTES} bytes")
    return raw


def _chunk_shift(chunk_size: int) -> int:
    if (isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size <= 0
            or chunk_size & (chunk_size - 1)):
        raise ValueError(f"chunk size must be a power of two, got {chunk_size!r}")
    shift = chunk_size.bit_length() - 1
    if not MIN_CHUNK_SHIFT <= shift <= MAX_CHUNK_SHIFT:
        raise ValueError(f"chunk size must be between {1 << MIN_CHUNK_SHIFT} and {1 << MAX_CHUNK_SHIFT} bytes")
    return shift


@dataclass(frozen=True)
class ObjectHeader:
    """A parsed header. ``raw`` is the exact bytes on disk, bound into every chunk's AAD."""

    chunk_size: int
    plaintext_size: int
    key_id: str
    salt: bytes
    key_check: bytes
    raw: bytes
    chunk_count: int = field(init=False)

    def __post_init__(self) -> None:
        # Read on every chunk access: computed once rather than as a property.
        object.__setattr__(self, "chunk_count", max(1, -(-self.plaintext_size // self.chunk_size)))

    @property
    def header_size(self) -> int:
        return len(self.raw)

    @property
    def encrypted_size(self) -> int:
        """The exact length of a whole encrypted file with this header."""
        return self.header_size + self.plaintext_size + TAG_SIZE * self.chunk_count

    def chunk_length(self, index: int) -> int:
        """Plaintext bytes in chunk ``index``."""
        if index < self.chunk_count - 1:
            return self.chunk_size
        return self.plaintext_size - index * self.chunk_size

    def chunk_offset(self, index: int) -> int:
        """Where chunk ``index`` starts in the file."""
        return self.header_size + index * (self.chunk_size + TAG_SIZE)


def make_header(*, chunk_size: int, plaintext_size: int, data_key: DataKey, salt: bytes) -> ObjectHeader:
    shift = _chunk_shift(chunk_size)
    if isinstance(plaintext_size, bool) or not isinstance(plaintext_size, int) or plaintext_size < 0:
        raise ValueError(f"invalid plaintext size {plaintext_size!r}")
    if plaintext_size > MAX_CHUNKS * chunk_size:
        raise ValueError(f"an object of {plaintext_size} bytes needs more than {MAX_CHUNKS} chunks of {chunk_size}")
    key_id = check_key_id(data_key.key_id).encode("ascii")
    check = key_check_value(data_key, salt)
    raw = _FIXED.pack(MAGIC, VERSION, shift, plaintext_size, salt, check, len(key_id)) + key_id
    return ObjectHeader(chunk_size=chunk_size, plaintext_size=plaintext_size, key_id=data_key.key_id, salt=salt,
                        key_check=check, raw=raw)


def parse_header(data: bytes) -> ObjectHeader:
    """Parse the header at the start of ``data`` (which may continue past it). Every field is
    range-checked, so hostile bytes raise ``MalformedHeader``, never allocate or loop."""
    if len(data) < _FIXED.size:
        raise MalformedHeader(f"not an encrypted object: shorter than the {_FIXED.size}-byte header")
    magic, version, shift, size, salt, check, id_len = _FIXED.unpack_from(data)
    if magic != MAGIC:
        raise MalformedHeader("not an encrypted object: bad magic")
    if version != VERSION:
        raise MalformedHeader(f"unsupported encrypted-object format version {version} (this hub reads {VERSION})")
    if not MIN_CHUNK_SHIFT <= shift <= MAX_CHUNK_SHIFT:
        raise MalformedHeader(f"encrypted object header: chunk size 2^{shift} out of range")
    if size > MAX_CHUNKS << shift:
        raise MalformedHeader("encrypted object header: plaintext size out of range")
    if not 1 <= id_len <= KEY_ID_MAX or len(data) < _FIXED.size + id_len:
        raise MalformedHeader("encrypted object header: bad data key id length")
    raw_id = data[_FIXED.size:_FIXED.size + id_len]
    try:
        key_id = check_key_id(raw_id.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise MalformedHeader("encrypted object header: malformed data key id") from None
    return ObjectHeader(chunk_size=1 << shift, plaintext_size=size, key_id=key_id, salt=salt, key_check=check,
                        raw=bytes(data[:_FIXED.size + id_len]))


def _read_at(f: BinaryIO, offset: int, n: int) -> bytes:
    f.seek(offset)
    parts, got = [], 0
    while got < n:
        part = f.read(n - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def read_header(f: BinaryIO) -> ObjectHeader:
    """The header of the encrypted object open as ``f`` (read from offset 0; the position is
    restored)."""
    pos = f.tell()
    try:
        return parse_header(_read_at(f, 0, HEADER_MAX))
    finally:
        f.seek(pos)


def looks_encrypted(f: BinaryIO) -> bool:
    """True when ``f`` starts with the encrypted-object magic (position restored).

    A hint only: a plain file may begin with the same bytes. Decide by metadata where the
    caller has it; when sniffing, such a plain file fails closed (``DecryptionError``), it can
    never decrypt to other bytes without the repository's data key.
    """
    pos = f.tell()
    try:
        return _read_at(f, 0, len(MAGIC)) == MAGIC
    finally:
        f.seek(pos)


def _file_length(f: BinaryIO) -> int:
    pos = f.tell()
    try:
        return f.seek(0, io.SEEK_END)
    finally:
        f.seek(pos)


def check_length(f: BinaryIO, header: ObjectHeader, oid: str | None) -> None:
    actual = _file_length(f)
    if actual != header.encrypted_size:
        what = "truncated" if actual < header.encrypted_size else "extended"
        raise ObjectLengthMismatch(f"encrypted object{f' {oid}' if oid else ''} is {actual} bytes, its header "
                                   f"implies {header.encrypted_size}: the file was {what}")


def plaintext_size(f: BinaryIO) -> int:
    """The plaintext size of the encrypted object open as ``f``, after checking the file's
    length agrees with its header. Needs no key: the size is not secret (it is also the LFS
    size); it is authenticated on the first chunk read."""
    header = read_header(f)
    check_length(f, header, None)
    return header.plaintext_size


def key_check_value(data_key: DataKey, salt: bytes) -> bytes:
    return hmac.new(data_key.secret, _KEY_CHECK_LABEL + salt, hashlib.sha256).digest()[:KEY_CHECK_SIZE]


class ObjectCipher:
    """The per-object AES key, nonces and AADs of one header + object id."""

    def __init__(self, data_key: DataKey, header: ObjectHeader, oid: str) -> None:
        oid_raw = _oid_bytes(oid)
        material = HKDF(
            algorithm=hashes.SHA256(), length=32 + 8, salt=header.salt,
            info=_OBJECT_KEY_LABEL + _lp(header.key_id.encode("ascii")) + _lp(oid_raw),
        ).derive(data_key.secret)
        self.aead = AESGCM(material[:32])
        # Reused buffers, rewritten in place per chunk: valid until the next call only.
        self._nonce = bytearray(material[32:] + bytes(4))
        aad_prefix = _CHUNK_AAD_LABEL + _lp(header.raw) + _lp(oid_raw)
        self._aad = bytearray(aad_prefix + bytes(_INDEX.size))
        self._aad_at = len(aad_prefix)
        self._last = header.chunk_count - 1

    def nonce(self, index: int) -> bytearray:
        _NONCE_INDEX.pack_into(self._nonce, 8, index)
        return self._nonce

    def aad(self, index: int) -> bytearray:
        _INDEX.pack_into(self._aad, self._aad_at, index, index == self._last)
        return self._aad

