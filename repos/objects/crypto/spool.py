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
Pure: no Django.
"""
from __future__ import annotations

import io
import secrets
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

_BLOCK = 16


class EncryptedSpool(io.RawIOBase):
    """A read/write, seekable temporary file (deleted on close) in ``directory``; ``name`` is its
    path. Reads and writes take and return plaintext; the file holds ciphertext only.
    ``fileno()`` is refused so no one sends the ciphertext by descriptor."""

    def __init__(self, directory: Path | str, *, suffix: str = "") -> None:
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
