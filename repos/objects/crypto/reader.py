"""Seekable, authenticated decryption of one object in the format described in ``format.py``."""

from __future__ import annotations

import hashlib
import hmac
import io
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from cryptography.exceptions import InvalidTag

from repos.objects.crypto import buffers
from repos.objects.crypto.errors import ChunkAuthenticationError, ObjectLengthMismatch, WrongDataKey
from repos.objects.crypto.header import (
    TAG_SIZE,
    ObjectCipher,
    ObjectHeader,
    check_length,
    key_check_value,
    looks_encrypted,
    read_header,
)
from repos.objects.crypto.keys import DataKey
from repos.objects.crypto.streams import Writable, write_all

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

_BATCH_BYTES = 256 * 1024
# read() decrypts into a reused buffer up to this size (the serving read-ahead reads 2 MiB).
_SCRATCH_MAX = 2 * 1024 * 1024
_SCRATCH_MIN = 64 * 1024


class EncryptedReader(io.RawIOBase):
    """A read-only, seekable binary file over the plaintext of an encrypted object.

    Opening checks the header, the key (id and key check), the file length, and authenticates
    chunk 0, so a wrong key, a truncated file or a swapped object fails here, before a caller
    has sent any response headers. A read decrypts only the chunks its range touches. Every
    byte returned comes from a chunk whose tag verified; a chunk that fails raises
    ``ChunkAuthenticationError`` and its unauthenticated output is wiped.

    Memory is bounded whatever the object size: ciphertext is read up to 256 KiB at a time,
    one decrypted chunk is cached (for reads that start or end inside a chunk), and ``read``
    decrypts into one reused block of at most 2 MiB before copying it into the bytes it
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
        if not hmac.compare_digest(key_check_value(data_key, header.salt), header.key_check):
            raise WrongDataKey(f"object {oid}: the data key offered as {data_key.key_id} is not the key it was "
                               f"encrypted with (key check mismatch: wrong key material for that id)")
        check_length(f, header, oid)
        self._oid = oid
        self._header = header
        self._cipher = ObjectCipher(data_key, header, oid)
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


def decrypt_to(reader: EncryptedReader, dest: Writable, *, block_size: int = 1024 * 1024) -> str:
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
        write_all(dest, view[:n])

