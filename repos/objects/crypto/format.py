"""The on-disk format of an encrypted object, and the public API over it.

The code lives in ``header.py`` (header, key derivation), ``encrypt.py`` (``encrypt_stream``)
and ``reader.py`` (``EncryptedReader``, ``open_plaintext``); import them from here.

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

from repos.objects.crypto.encrypt import EncryptedChunks, EncryptResult, encrypt_stream
from repos.objects.crypto.header import (
    DEFAULT_CHUNK_SIZE,
    MAGIC,
    VERSION,
    ObjectHeader,
    looks_encrypted,
    parse_header,
    plaintext_size,
    read_header,
)
from repos.objects.crypto.reader import EncryptedReader, decrypt_to, open_encrypted, open_plaintext

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MAGIC",
    "VERSION",
    "EncryptResult",
    "EncryptedChunks",
    "EncryptedReader",
    "ObjectHeader",
    "decrypt_to",
    "encrypt_stream",
    "looks_encrypted",
    "open_encrypted",
    "open_plaintext",
    "parse_header",
    "plaintext_size",
    "read_header",
]
