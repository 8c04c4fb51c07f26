"""A temporary file whose bytes on disk are encrypted under a key that only this object holds.

Why: a browser upload is spooled to disk before it is routed (git or LFS) and ingested, and
multi-GB bodies must not sit in memory. Written plain, that spool would leave a private file's
plaintext on the data disk for as long as the request runs (and in its freed blocks after).
Here every byte is AES-256-CTR encrypted under a random key and nonce drawn per spool and kept
only in this process's memory: the spool file is unreadable without the process, and worthless
once the request ends, whether or not the file was removed.

CTR (not the chunked GCM of stored objects) because the length is not known in advance and the
reader seeks anywhere; there is no tag because nothing leaves the process unverified: LFS
content is hashed against its oid when ingested, and the spool lives only for one request.
Keystream blocks never repeat: the counter block is ``nonce (8 random bytes) | block index``.

``SpooledEncryptedFile`` is the drop-in for ``tempfile.SpooledTemporaryFile`` (which spills
plaintext): bytes stay in memory up to a bound, then move to an ``EncryptedSpool``.
Pure: no Django.
"""
from __future__ import annotations

import io
import secrets
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

_BLOCK = 16
# Writes to a spilled SpooledEncryptedFile are batched: callers write line by line, and each
# EncryptedSpool write sets up a cipher.
_SPILL_BUFFER = 1024 * 1024


class _SpoolFile(io.RawIOBase):
    """What both spools are: read/write and seekable over `_file`, without a descriptor (a
    caller that sendfiles or mmaps it would get the ciphertext, or the plaintext behind our
    back)."""

    _file: Any  # a temporary file, a BytesIO or a buffered EncryptedSpool

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def fileno(self) -> int:
        raise io.UnsupportedOperation("an encrypted spool has no descriptor for its plaintext")

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()


class EncryptedSpool(_SpoolFile):
    """A read/write, seekable temporary file (deleted on close) in ``directory``; ``name`` is its
    path. Reads and writes take and return plaintext; the file holds ciphertext only.
    ``fileno()`` is refused so no one sends the ciphertext by descriptor."""

    def __init__(self, directory: Path | str | None, *, suffix: str = "") -> None:
        super().__init__()
        self._file = tempfile.NamedTemporaryFile(dir=directory, suffix=suffix)
        self.name = self._file.name
        self._key = secrets.token_bytes(32)
        self._nonce = secrets.token_bytes(8)

    def _keystream(self, data: ReadableBuffer, offset: int) -> bytes:
        block, skip = divmod(offset, _BLOCK)
        counter = self._nonce + block.to_bytes(8, "big")
        cipher = Cipher(algorithms.AES(self._key), modes.CTR(counter)).encryptor()
        if skip:
            cipher.update(bytes(skip))
        return cipher.update(memoryview(data).cast("B"))

    def write(self, data: ReadableBuffer) -> int:
        view = memoryview(data).cast("B")
        self._file.write(self._keystream(view, self._file.tell()))
        return len(view)

    def readinto(self, buffer: WriteableBuffer) -> int:
        out = memoryview(buffer).cast("B")
        offset = self._file.tell()
        sealed = self._file.read(len(out))
        out[:len(sealed)] = self._keystream(sealed, offset)
        return len(sealed)

    def read(self, size: int | None = -1) -> bytes:
        offset = self._file.tell()
        sealed = self._file.read(-1 if size is None else size)
        return self._keystream(sealed, offset) if sealed else b""

    def readall(self) -> bytes:
        return self.read(-1)

    def flush(self) -> None:
        if not self._file.closed:
            self._file.flush()

    def close(self) -> None:
        if not self.closed:
            try:
                self._file.close()
            except FileNotFoundError:  # removed already (a full-disk cleanup)
                pass
        super().close()


class SpooledEncryptedFile(_SpoolFile):
    """A read/write, seekable temporary file held in memory until it would pass ``max_memory``
    bytes, then in an ``EncryptedSpool`` in ``directory`` (``None``: the system's temporary
    directory). Either way no plaintext reaches the disk; ``rolled`` says which it is."""

    def __init__(self, max_memory: int, directory: Path | str | None, *, suffix: str = "") -> None:
        super().__init__()
        self._max_memory = max_memory
        self._directory = directory
        self._suffix = suffix
        self._file: io.BytesIO | io.BufferedRandom = io.BytesIO()
        self.rolled = False

    def rollover(self) -> None:
        """Move the bytes to the encrypted spool now (the position is kept)."""
        if self.rolled:
            return
        memory = self._file
        assert isinstance(memory, io.BytesIO)
        spool = io.BufferedRandom(EncryptedSpool(self._directory, suffix=self._suffix), buffer_size=_SPILL_BUFFER)
        try:
            with memory.getbuffer() as held:
                spool.write(held)
            spool.seek(memory.tell())
        except BaseException:
            spool.close()
            raise
        self._file, self.rolled = spool, True
        memory.close()

    def write(self, data: ReadableBuffer) -> int:
        view = memoryview(data).cast("B")
        if not self.rolled and self._file.tell() + len(view) > self._max_memory:
            self.rollover()
        return self._file.write(view)

    def readinto(self, buffer: WriteableBuffer) -> int:
        return self._file.readinto(buffer)

    def read(self, size: int | None = -1) -> bytes:
        return self._file.read(size)

    def readall(self) -> bytes:
        return self._file.read()

    def flush(self) -> None:
        if not self._file.closed:
            self._file.flush()

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()
