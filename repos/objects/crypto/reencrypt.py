"""Rewrite one stored object in place under another data key, or into or out of encryption,
while the hub keeps serving it.

Invariants:
- **Whole old or whole new.** The new form is streamed into a temporary file in the target's
  directory and published by an atomic rename (``atomic_file``); a crash at any point leaves
  the old file intact (and perhaps a stale temporary file, see ``stale_temp_files``).
- **No plaintext on disk when the target is encrypted.** The source is decrypted in memory,
  one chunk at a time, and only ciphertext is written. (Decrypting to a plain target writes
  plaintext by definition.) Replacing a plain file by its encrypted form unlinks the plain
  file; like any deletion it does not scrub the disk blocks it used.
- **Readers are never disturbed.** A download that opened the old file keeps reading the old
  inode to its end (its header still names the old data key, which the caller must keep
  until such readers are done); the next open sees the new file. The object id, size and
  ETag do not change.
- **Idempotent.** An object already in the requested form is left alone (``UNCHANGED``), so a
  bulk job can be re-run after a crash.
- **No resurrection.** If the file was deleted or replaced while being rewritten (garbage
  collection, a concurrent rewrite), the rewrite is abandoned with ``ObjectChanged`` rather
  than renamed over it. A narrow window remains between that check and the rename; callers
  that delete objects concurrently should hold the object's lock around this call.
"""

from __future__ import annotations

import enum
import hmac
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from repos.objects.crypto.atomic_file import AtomicFile
from repos.objects.crypto.errors import DigestMismatch, ObjectChanged
from repos.objects.crypto.format import (
    DEFAULT_CHUNK_SIZE,
    EncryptedReader,
    decrypt_to,
    encrypt_stream,
    looks_encrypted,
    read_header,
)
from repos.objects.crypto.keys import DataKey

_COPY_BLOCK = 1024 * 1024


class Outcome(enum.StrEnum):
    ENCRYPTED = "encrypted"  # plain -> encrypted
    REENCRYPTED = "reencrypted"  # encrypted under one data key -> another
    DECRYPTED = "decrypted"  # encrypted -> plain
    UNCHANGED = "unchanged"  # already in the requested form


@dataclass(frozen=True)
class ReencryptResult:
    outcome: Outcome
    size: int
    old_key_id: str | None
    new_key_id: str | None
    sha256: str | None  # of the plaintext, when it was read (None for UNCHANGED)


def reencrypt_object(
    path: Path,
    *,
    oid: str,
    target_key: DataKey | None,
    key_for: Callable[[str], DataKey],
    expected_sha256: str | None = None,
    source_encrypted: bool | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> ReencryptResult:
    """Make the object at ``path`` encrypted under ``target_key`` (or plain when it is None).

    ``key_for(key_id)`` returns the data key named in an encrypted source's header (the caller
    unwraps it from the database); it is called only for encrypted sources. ``oid`` is the
    object id bound into the ciphertext. ``expected_sha256``, when given, is checked against
    the plaintext before anything is published (``DigestMismatch``; for LFS objects pass the
    oid). ``source_encrypted`` says what the file is when the caller knows it from metadata;
    None sniffs the magic bytes (a plain file that mimics the header then fails closed with a
    ``DecryptionError``; pass False to force it to be read as plain).

    Raises ``ObjectChanged`` if the file was replaced or removed meanwhile, and any
    ``DecryptionError`` of the source; in every error case the file is left as it was.
    """
    path = Path(path)
    with open(path, "rb", buffering=0) as f:
        before = os.fstat(f.fileno())
        encrypted = looks_encrypted(f) if source_encrypted is None else source_encrypted
        source: BinaryIO | EncryptedReader
        if encrypted:
            header = read_header(f)
            old_key_id: str | None = header.key_id
            if target_key is not None and header.key_id == target_key.key_id:
                return ReencryptResult(Outcome.UNCHANGED, header.plaintext_size, old_key_id, old_key_id, None)
            source = EncryptedReader(f, data_key=key_for(header.key_id), oid=oid, close_source=False)
            size = source.size
        else:
            old_key_id = None
            if target_key is None:
                return ReencryptResult(Outcome.UNCHANGED, before.st_size, None, None, None)
            source = f
            size = before.st_size

        with AtomicFile(path, mode=stat.S_IMODE(before.st_mode)) as out:
            if target_key is not None:
                result = encrypt_stream(source, out.file, data_key=target_key, oid=oid, size=size,
                                        chunk_size=chunk_size)
                sha256 = result.sha256
            else:
                assert isinstance(source, EncryptedReader)
                sha256 = decrypt_to(source, out.file, block_size=_COPY_BLOCK)
            if expected_sha256 is not None and not hmac.compare_digest(sha256, expected_sha256.lower()):
                raise DigestMismatch(f"object {oid}: the stored plaintext hashes to {sha256}, not to "
                                     f"{expected_sha256}; left untouched")
            _check_unchanged(path, before, oid)
            out.commit()

    if old_key_id is None:
        outcome = Outcome.ENCRYPTED
    elif target_key is None:
        outcome = Outcome.DECRYPTED
    else:
        outcome = Outcome.REENCRYPTED
    return ReencryptResult(outcome, size, old_key_id, target_key.key_id if target_key else None, sha256)


def _check_unchanged(path: Path, before: os.stat_result, oid: str) -> None:
    try:
        now = os.stat(path)
    except FileNotFoundError:
        raise ObjectChanged(f"object {oid} was deleted while it was being rewritten; not recreated") from None
    if (now.st_dev, now.st_ino) != (before.st_dev, before.st_ino):
        raise ObjectChanged(f"object {oid} was replaced while it was being rewritten; the newer file is kept")

