"""The on-disk format of an encrypted object, a streaming encryptor and a seekable decryptor.

Layout (all integers big-endian)::

    header   magic "\\x89MHENC\\r\\n" (8) | version = 1 (1) | log2(chunk size) (1)
             | plaintext size (8) | salt (32, random per object) | key check (16)
             | data-key id length n (1) | data-key id (n, 1-64 ASCII)
    chunks   chunk 0 .. chunk N-1, each  AES-256-GCM ciphertext | 16-byte tag

Every chunk but the last holds exactly ``chunk size`` plaintext bytes; the last holds the rest.
N = max(1, ceil(size / chunk size)): an empty object still has one (empty) chunk, so its
header, key and object id are authenticated like any other.

Keys and nonces. The data key is per repository and encrypts many objects, so it never meets
a nonce directly: each object gets its own AES key and 8-byte nonce prefix from
HKDF-SHA256(data key, salt = the header's random salt, info = data-key id | object id). The
nonce of chunk i is prefix | uint32(i). A (key, nonce) pair therefore repeats only if two
objects drew the same 256-bit salt: re-encrypting the same object again draws a new salt and
so a new key. (Random 64-bit prefixes directly under the repository key would have made
nonce reuse, which breaks GCM entirely, a birthday bound over all objects of a repository.)

What the AAD of chunk i binds: the exact header bytes (version, chunk size, plaintext size,
salt, key check, data-key id), the object id, i (uint64), and whether i is the last chunk.
Hence a flipped bit anywhere, a chunk moved or copied to another index, a file renamed to
another object id, a truncation at a chunk boundary (the new last chunk was not sealed as
last) and an appended chunk (the length check, and the old last chunk) all fail; none can
return bytes.

The key check is HMAC-SHA256(data key, label | salt)[:16]. It lets a wrong key be reported as
``WrongDataKey`` instead of as tampering, and reveals nothing about the key.

Chunk size: 64 KiB by default (any power of two from 1 KiB to 16 MiB can be written; readers
follow the header). AES-GCM runs at ~8-9 GB/s per core here, so what a smaller chunk costs is
per-chunk overhead: a sequential read through ``EncryptedReader`` took 67 ms per 256 MiB with
64 KiB chunks, 54 ms with 256 KiB and 50 ms with 1 MiB (CPU time, hot page cache). In exchange,
a range reads and decrypts at most 2 x 64 KiB more than asked, where 1 MiB chunks would double
the work of a 1 MiB range and make a small read (a safetensors header, a parquet footer)
decrypt a whole MiB. The tag overhead is 16 bytes per 64 KiB (0.02 %).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from repos.objects.crypto import buffers
from repos.objects.crypto.errors import (
    ChunkAuthenticationError,
    MalformedHeader,
    ObjectLengthMismatch,
    SourceSizeMismatch,
    WrongDataKey,
)
from repos.objects.crypto.keys import KEY_ID_MAX, DataKey, check_key_id

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

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
_BATCH_BYTES = 256 * 1024
# read() decrypts into a reused buffer up to this size (the serving helper reads 256 KiB).
_SCRATCH_MAX = 1024 * 1024
_SCRATCH_MIN = 64 * 1024


class _Readable(Protocol):
    def read(self, n: int = ..., /) -> bytes: ...


class _Writable(Protocol):
    def write(self, data: ReadableBuffer, /) -> int | None: ...


Source = _Readable | Iterable[bytes]


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


def _make_header(*, chunk_size: int, plaintext_size: int, data_key: DataKey, salt: bytes) -> ObjectHeader:
    shift = _chunk_shift(chunk_size)
    if isinstance(plaintext_size, bool) or not isinstance(plaintext_size, int) or plaintext_size < 0:
        raise ValueError(f"invalid plaintext size {plaintext_size!r}")
    if plaintext_size > MAX_CHUNKS * chunk_size:
        raise ValueError(f"an object of {plaintext_size} bytes needs more than {MAX_CHUNKS} chunks of {chunk_size}")
    key_id = check_key_id(data_key.key_id).encode("ascii")
    check = _key_check(data_key, salt)
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


def _check_length(f: BinaryIO, header: ObjectHeader, oid: str | None) -> None:
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
    _check_length(f, header, None)
    return header.plaintext_size


def _key_check(data_key: DataKey, salt: bytes) -> bytes:
    return hmac.new(data_key.secret, _KEY_CHECK_LABEL + salt, hashlib.sha256).digest()[:KEY_CHECK_SIZE]


class _ObjectCipher:
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


# ---------------------------------------------------------------- encryption


@dataclass(frozen=True)
class EncryptResult:
    """What ``encrypt_stream`` saw: the plaintext's size and sha256 (hex), so an ingest can
    verify the announced oid while encrypting, and the length it wrote."""

    size: int
    sha256: str
    encrypted_size: int


class _ExactReader:
    """Fills buffers with exactly the requested number of bytes from a file-like object or an
    iterable of byte chunks, and tells whether anything is left after."""

    def __init__(self, source: Source) -> None:
        if isinstance(source, (bytes, bytearray, memoryview, str)):
            raise TypeError("pass a binary file-like object or an iterable of byte chunks, not bytes or str")
        self._readinto: Callable[[memoryview], int | None] | None = getattr(source, "readinto", None)
        self._read: Callable[[int], bytes] | None = getattr(source, "read", None)
        self._iter = iter(source) if self._readinto is None and self._read is None else None  # type: ignore[arg-type]
        self._pending = memoryview(b"")

    def fill(self, view: memoryview) -> int:
        """Copy up to ``len(view)`` bytes into ``view``; fewer only at the end of the source."""
        filled, want = 0, len(view)
        while filled < want:
            if self._readinto is not None:
                got = self._readinto(view[filled:]) or 0
                if got == 0:
                    break
                filled += got
            elif self._read is not None:
                data = self._read(want - filled)
                if not data:
                    break
                if len(data) > want - filled:
                    raise ValueError("source.read(n) returned more than n bytes")
                view[filled:filled + len(data)] = data
                filled += len(data)
            else:
                if not self._pending:
                    piece = self._next_piece()
                    if piece is None:
                        break
                    self._pending = piece
                take = min(len(self._pending), want - filled)
                view[filled:filled + take] = self._pending[:take]
                self._pending = self._pending[take:]
                filled += take
        return filled

    def _next_piece(self) -> memoryview | None:
        assert self._iter is not None
        for piece in self._iter:
            if piece:
                return memoryview(piece).cast("B")
        return None

    def exhausted(self) -> bool:
        probe = bytearray(1)
        return self.fill(memoryview(probe)) == 0


def _write_all(dest: _Writable, view: memoryview) -> None:
    # Raw files may write less than asked; buffered ones return the full length or None.
    while view:
        written = dest.write(view)
        if written is None or written >= len(view):
            return
        view = view[written:]


def encrypt_stream(
    source: Source,
    dest: _Writable,
    *,
    data_key: DataKey,
    oid: str,
    size: int,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> EncryptResult:
    """Encrypt exactly ``size`` bytes from ``source`` into ``dest`` (written sequentially from its
    current position, never seeked: a pipe or an upload stream will do).

    Memory is bounded by two chunk buffers whatever the object size. The size must be known in
    advance because it is part of every chunk's AAD (LFS and the HF commit API announce it);
    a source that ends early or runs past it raises ``SourceSizeMismatch`` at once, and the
    partial output (ciphertext only) must be discarded by the caller. Only ciphertext is ever
    written: a plaintext byte never reaches ``dest``.
    """
    header = _make_header(chunk_size=chunk_size, plaintext_size=size, data_key=data_key,
                          salt=secrets.token_bytes(SALT_SIZE))
    cipher = _ObjectCipher(data_key, header, oid)
    reader = _ExactReader(source)
    plain = bytearray(chunk_size)
    sealed = bytearray(chunk_size + TAG_SIZE)
    plain_view, sealed_view = memoryview(plain), memoryview(sealed)
    digest = hashlib.sha256()
    _write_all(dest, memoryview(header.raw))
    total = 0
    for index in range(header.chunk_count):
        want = header.chunk_length(index)
        got = reader.fill(plain_view[:want])
        total += got
        if got < want:
            raise SourceSizeMismatch(f"object {oid}: the source ended after {total} bytes, {size} were announced")
        digest.update(plain_view[:want])
        out = sealed_view[:want + TAG_SIZE]
        cipher.aead.encrypt_into(cipher.nonce(index), plain_view[:want], cipher.aad(index), out)
        _write_all(dest, out)
    if not reader.exhausted():
        raise SourceSizeMismatch(f"object {oid}: the source holds more than the {size} bytes announced")
    return EncryptResult(size=total, sha256=digest.hexdigest(), encrypted_size=header.encrypted_size)


# ---------------------------------------------------------------- decryption


class EncryptedReader(io.RawIOBase):
    """A read-only, seekable binary file over the plaintext of an encrypted object.

    Opening checks the header, the key (id and key check), the file length, and authenticates
    chunk 0, so a wrong key, a truncated file or a swapped object fails here, before a caller
    has sent any response headers. A read decrypts only the chunks its range touches. Every
    byte returned comes from a chunk whose tag verified; a chunk that fails raises
    ``ChunkAuthenticationError`` and its unauthenticated output is wiped.

    Memory is bounded whatever the object size: ciphertext is read up to 256 KiB at a time,
    one decrypted chunk is cached (for reads that start or end inside a chunk), and ``read``
    decrypts into one reused block of at most 1 MiB before copying it into the bytes it
    returns (``readinto`` decrypts runs of whole chunks straight into the caller's buffer).
    The buffers come from a per-thread pool (``buffers``) and go back on ``close()``.

    ``fileno()`` raises ``io.UnsupportedOperation`` on purpose: a WSGI server that finds a
    file descriptor uses ``sendfile`` and would send the ciphertext. The reader is not thread
    safe (like any file object). ``close()`` closes the underlying file unless
    ``close_source=False``; if the constructor raises, the underlying file is left open for
    its owner to close.
    """

    def __init__(self, f: BinaryIO, *, data_key: DataKey, oid: str, close_source: bool = True) -> None:
        super().__init__()
        self._f = f
        # Until construction succeeds, close() (also run by __del__ after a failed constructor)
        # must leave ``f`` to its owner.
        self._close_source = False
        self._sealed = self._plain = self._scratch = bytearray()
        header = read_header(f)
        if header.key_id != data_key.key_id:
            raise WrongDataKey(f"object {oid} is encrypted with data key {header.key_id}, "
                               f"not with the offered key {data_key.key_id}")
        if not hmac.compare_digest(_key_check(data_key, header.salt), header.key_check):
            raise WrongDataKey(f"object {oid}: the data key offered as {data_key.key_id} is not the key it was "
                               f"encrypted with (key check mismatch: wrong key material for that id)")
        _check_length(f, header, oid)
        self._oid = oid
        self._header = header
        self._cipher = _ObjectCipher(data_key, header, oid)
        self._pos = 0
        self._raw_pos = -1
        self._cached = -1
        # Ciphertext is read up to _BATCH_BYTES at a time (fewer system calls on sequential reads).
        self._batch = max(1, _BATCH_BYTES // header.chunk_size)
        self._sealed = buffers.take(self._batch * (header.chunk_size + TAG_SIZE))
        self._plain = buffers.take(header.chunk_size)
        self._load(0)
        self._close_source = close_source

    # -- io.RawIOBase protocol

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def fileno(self) -> int:
        raise io.UnsupportedOperation("an encrypted object has no file descriptor for its plaintext")

    def write(self, data: ReadableBuffer) -> int:
        raise io.UnsupportedOperation("an encrypted object is read-only")

    def tell(self) -> int:
        self._check_open()
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._check_open()
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._header.plaintext_size + offset
        else:
            raise ValueError(f"invalid whence {whence!r}")
        if pos < 0:
            raise ValueError(f"negative seek position {pos}")
        self._pos = pos
        return pos

    def readinto(self, buffer: WriteableBuffer) -> int:
        self._check_open()
        out = memoryview(buffer).cast("B")
        n = min(len(out), max(0, self._header.plaintext_size - self._pos))
        self._fill(out[:n])
        return n

    def read(self, size: int | None = -1) -> bytes:
        """Exactly ``size`` bytes (fewer only at the end), like a regular file."""
        self._check_open()
        left = max(0, self._header.plaintext_size - self._pos)
        n = left if size is None or size < 0 else min(size, left)
        if n == 0:
            return b""
        index, offset = divmod(self._pos, self._header.chunk_size)
        if index == self._cached and offset + n <= self._header.chunk_length(index):
            self._pos += n
            return bytes(memoryview(self._plain)[offset:offset + n])
        if n > _SCRATCH_MAX:
            whole = bytearray(n)
            self._fill(memoryview(whole))
            return bytes(whole)
        # Decrypt into a buffer kept across reads, then copy once into the returned bytes: a
        # fresh large bytearray per read costs page faults that made reads ~7x slower.
        if len(self._scratch) < n:
            buffers.give(self._scratch)
            self._scratch = bytearray()
            self._scratch = buffers.take(max(_SCRATCH_MIN, 1 << (n - 1).bit_length()))
        view = memoryview(self._scratch)[:n]
        try:
            self._fill(view)
            return bytes(view)
        finally:
            view.release()

    def readall(self) -> bytes:
        return self.read(-1)

    def close(self) -> None:
        if self.closed:
            return
        try:
            if self._close_source:
                self._f.close()
        finally:
            self._cached = -1
            for buffer in (self._sealed, self._plain, self._scratch):
                buffers.give(buffer)
            self._sealed = self._plain = self._scratch = bytearray()
            super().close()

    # -- what it adds

    @property
    def size(self) -> int:
        """The plaintext size (what Content-Length, ranges and the LFS size refer to)."""
        return self._header.plaintext_size

    @property
    def header(self) -> ObjectHeader:
        return self._header

    def __repr__(self) -> str:
        return f"<EncryptedReader oid={self._oid} key={self._header.key_id} size={self.size}>"

    # -- internals

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed EncryptedReader")

    def _fill(self, out: memoryview) -> None:
        """Decrypt plaintext ``[pos, pos + len(out))`` into ``out`` and advance ``pos``.

        Runs of whole chunks are read with one system call and decrypted straight into
        ``out``; partial chunks at either end go through the one-chunk cache.
        """
        header = self._header
        chunk_size = header.chunk_size
        done, pos, n = 0, self._pos, len(out)
        while done < n:
            index, offset = divmod(pos, chunk_size)
            length = header.chunk_length(index)
            take = min(length - offset, n - done)
            if offset == 0 and take == length and index != self._cached:
                run, span = 1, length
                while (run < self._batch and index + run < header.chunk_count
                       and span + header.chunk_length(index + run) <= n - done):
                    span += header.chunk_length(index + run)
                    run += 1
                self._decrypt_run(index, run, out[done:done + span])
                take = span
            else:
                plain = self._load(index)
                out[done:done + take] = plain[offset:offset + take]
            done += take
            pos += take
        self._pos = pos

    def _load(self, index: int) -> memoryview:
        length = self._header.chunk_length(index)
        view = memoryview(self._plain)[:length]
        if self._cached != index:
            self._cached = -1
            self._decrypt_run(index, 1, view)
            self._cached = index
        return view

    def _decrypt_run(self, first: int, count: int, out: memoryview) -> None:
        """Decrypt chunks ``first .. first + count - 1`` (contiguous on disk) into ``out``."""
        header, cipher = self._header, self._cipher
        sealed = memoryview(self._sealed)[:len(out) + TAG_SIZE * count]
        self._read_sealed(first, sealed)
        src = dst = 0
        for index in range(first, first + count):
            length = header.chunk_length(index)
            try:
                cipher.aead.decrypt_into(cipher.nonce(index), sealed[src:src + length + TAG_SIZE],
                                         cipher.aad(index), out[dst:dst + length])
            except InvalidTag:
                # decrypt_into has already written unauthenticated plaintext: never leave it around.
                out[:] = bytes(len(out))
                raise ChunkAuthenticationError(
                    f"object {self._oid}: chunk {index} of {header.chunk_count} fails authentication under data "
                    f"key {header.key_id}: the file was modified, its chunks moved, or it belongs to another "
                    f"object") from None
            src += length + TAG_SIZE
            dst += length

    def _read_sealed(self, first: int, sealed: memoryview) -> None:
        offset = self._header.chunk_offset(first)
        if self._raw_pos != offset:
            self._f.seek(offset)
        self._raw_pos = -1
        readinto = getattr(self._f, "readinto", None)
        got = 0
        while got < len(sealed):
            if readinto is not None:
                n = readinto(sealed[got:]) or 0
            else:
                data = self._f.read(len(sealed) - got)
                n = len(data)
                sealed[got:got + n] = data
            if n == 0:
                raise ObjectLengthMismatch(f"object {self._oid}: the file ended inside chunk {first} or the next "
                                           f"(truncated while open?)")
            got += n
        self._raw_pos = offset + got


def open_encrypted(path: Path | str, *, oid: str, key_for: Callable[[str], DataKey]) -> EncryptedReader:
    """Open the encrypted object at ``path`` with the data key ``key_for(header key id)``.

    The byte door's read path: ``key_for`` looks up the repository's wrapped data key by id
    and unwraps it with the keyring. The file is closed again if anything fails.
    """
    # Unbuffered: the reader's reads are chunk-sized, a buffer would only add a copy.
    f = open(path, "rb", buffering=0)
    try:
        header = read_header(f)
        return EncryptedReader(f, data_key=key_for(header.key_id), oid=oid)
    except BaseException:
        f.close()
        raise


def open_plaintext(path: Path | str, *, oid: str, key_for: Callable[[str], DataKey],
                   encrypted: bool | None = None) -> io.RawIOBase:
    """Open a stored object, encrypted or plain, as a seekable binary file of its plaintext.

    The byte door's read path while a repository is being moved into or out of encryption:
    the file is opened once and sniffed and read through the same descriptor, so a concurrent
    ``reencrypt_object`` (which renames a new file into place) can never pair the old file's
    format with the new file's bytes. ``encrypted`` overrides the sniffing when the caller
    knows the format from metadata. ``seek(0, SEEK_END)`` gives the plaintext size.
    """
    f = open(path, "rb", buffering=0)
    try:
        if not (looks_encrypted(f) if encrypted is None else encrypted):
            return f
        header = read_header(f)
        return EncryptedReader(f, data_key=key_for(header.key_id), oid=oid)
    except BaseException:
        f.close()
        raise


def decrypt_to(reader: EncryptedReader, dest: _Writable, *, block_size: int = 1024 * 1024) -> str:
    """Copy the whole plaintext of ``reader`` (from its start) into ``dest``; returns its sha256."""
    reader.seek(0)
    digest = hashlib.sha256()
    buf = bytearray(block_size)
    view = memoryview(buf)
    while True:
        n = reader.readinto(view)
        if not n:
            return digest.hexdigest()
        digest.update(view[:n])
        _write_all(dest, view[:n])

