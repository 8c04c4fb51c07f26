"""Streaming encryption of one object into the format described in ``format.py``."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

from repos.objects.crypto.errors import SourceSizeMismatch
from repos.objects.crypto.header import DEFAULT_CHUNK_SIZE, SALT_SIZE, TAG_SIZE, ObjectCipher, make_header
from repos.objects.crypto.keys import DataKey
from repos.objects.crypto.streams import ExactReader, Source, Writable, write_all


@dataclass(frozen=True)
class EncryptResult:
    """What ``encrypt_stream`` saw: the plaintext's size and sha256 (hex), so an ingest can
    verify the announced oid while encrypting, and the length it wrote."""

    size: int
    sha256: str
    encrypted_size: int


def encrypt_stream(
    source: Source,
    dest: Writable,
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
    sealed = EncryptedChunks(source, data_key=data_key, oid=oid, size=size, chunk_size=chunk_size)
    for piece in sealed:
        write_all(dest, piece)
    return sealed.result()


class EncryptedChunks:
    """The stored form of ``size`` plaintext bytes from ``source``, as an iterator of byte views
    (the header, then one sealed chunk at a time): ``encrypt_stream`` for a consumer that pulls
    (the byte door's ingest transform). Each view is of a reused buffer, valid until the next
    one is taken. ``result()`` after the end; the size rules are ``encrypt_stream``'s.
    ``hash_plaintext=False`` skips the sha256 (``result().sha256`` is then empty) for a caller
    that hashes the plaintext itself: the byte door verifies every upload already, and a second
    hash pass was a third of the encrypted upload's CPU time."""

    def __init__(self, source: Source, *, data_key: DataKey, oid: str, size: int,
                 chunk_size: int = DEFAULT_CHUNK_SIZE, hash_plaintext: bool = True) -> None:
        self._header = make_header(chunk_size=chunk_size, plaintext_size=size, data_key=data_key,
                                   salt=secrets.token_bytes(SALT_SIZE))
        self._cipher = ObjectCipher(data_key, self._header, oid)
        self._reader = ExactReader(source)
        self._oid, self._size = oid, size
        self._digest = hashlib.sha256() if hash_plaintext else None
        self._total = 0
        self._done = False
        self._iter = self._chunks()

    def __iter__(self) -> EncryptedChunks:
        return self

    def __next__(self) -> memoryview:
        return next(self._iter)

    def _chunks(self) -> Iterator[memoryview]:
        header, cipher = self._header, self._cipher
        plain = bytearray(header.chunk_size)
        sealed = bytearray(header.chunk_size + TAG_SIZE)
        plain_view, sealed_view = memoryview(plain), memoryview(sealed)
        yield memoryview(header.raw)
        for index in range(header.chunk_count):
            want = header.chunk_length(index)
            got = self._reader.fill(plain_view[:want])
            self._total += got
            if got < want:
                raise SourceSizeMismatch(f"object {self._oid}: the source ended after {self._total} bytes, "
                                         f"{self._size} were announced")
            if self._digest is not None:
                self._digest.update(plain_view[:want])
            out = sealed_view[:want + TAG_SIZE]
            cipher.aead.encrypt_into(cipher.nonce(index), plain_view[:want], cipher.aad(index), out)
            yield out
        if not self._reader.exhausted():
            raise SourceSizeMismatch(f"object {self._oid}: the source holds more than the {self._size} bytes "
                                     f"announced")
        self._done = True

    def result(self) -> EncryptResult:
        if not self._done:
            raise RuntimeError("EncryptedChunks.result() before the last chunk was taken")
        return EncryptResult(size=self._total, sha256=self._digest.hexdigest() if self._digest is not None else "",
                             encrypted_size=self._header.encrypted_size)
