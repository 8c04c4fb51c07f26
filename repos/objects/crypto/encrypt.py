"""Streaming encryption of one object into the format described in ``format.py``."""

from __future__ import annotations

import hashlib
import secrets
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
    header = make_header(chunk_size=chunk_size, plaintext_size=size, data_key=data_key,
                          salt=secrets.token_bytes(SALT_SIZE))
    cipher = ObjectCipher(data_key, header, oid)
    reader = ExactReader(source)
    plain = bytearray(chunk_size)
    sealed = bytearray(chunk_size + TAG_SIZE)
    plain_view, sealed_view = memoryview(plain), memoryview(sealed)
    digest = hashlib.sha256()
    write_all(dest, memoryview(header.raw))
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
        write_all(dest, out)
    if not reader.exhausted():
        raise SourceSizeMismatch(f"object {oid}: the source holds more than the {size} bytes announced")
    return EncryptResult(size=total, sha256=digest.hexdigest(), encrypted_size=header.encrypted_size)
