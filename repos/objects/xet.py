"""The byte door's second object kind: Xet xorbs and shards (XET.md §4.4, §4.5).

Stored beside the LFS objects, by the same backend (`STORAGES["lfs"]`, kinds "xorbs" and
"shards"), content-addressed by their Xet hash (xorbs) or sha256 (shards). A stored xorb is the
chunk records exactly as uploaded followed by our own v1 footer, so its metadata is read back
from the footer without touching chunk data, and fetch URLs serve byte ranges of the records.

Nothing here decides who may use a xorb: that is the provenance index (`repos.models.xet`),
kept by `repos.services.xet`. Files registered from xorbs become ordinary LFS objects through
`repos.objects.ingest`.

Encryption at rest: a xorb uploaded for an encrypted repository (`repo_encrypted`) is stored
in the chunked AES-GCM format of encrypted LFS objects (`repos.objects.crypto.format`, object
id = the xorb hash), under the data key of the shared "xorbs" store (`StoreKey`): xorbs are
deduplicated across repositories, so none may depend on one repository's key. Its records
never touch the disk in plaintext: the upload is parsed into an `EncryptedSpool` (ciphertext
under a key only this process holds) and encrypted from there into the temporary file that is
published. Readers sniff each file's format (a stored xorb starts with a chunk header whose
first byte is 0, never with the encrypted magic's 0x89), so plain xorbs of public repositories
stay sendfile-able and need no master key. A plain xorb later uploaded for, or settled into,
an encrypted repository is replaced by its encrypted form; encrypted xorbs are never
decrypted again (another encrypted repository may share them).
"""
from __future__ import annotations

import io
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO, cast

from repos.lfs.errors import LfsObjectNotFound
from repos.objects.backends.local import LocalBackend, Staged
from repos.objects.crypto.format import EncryptedChunks, looks_encrypted, open_plaintext
from repos.objects.crypto.spool import EncryptedSpool
from repos.objects.door import storage_backend
from repos.objects.encryption import crypto_errors_as_http, store_data_key, store_key_lookup
from repos.xet.errors import XetFormatError
from repos.xet.hashes import MerkleHash
from repos.xet.xorb import DEFAULT_LIMITS, XorbInfo, XorbLimits, footer_bytes, read_footer, read_xorb

_INFO_CACHE_SIZE = 256
# The shared store whose data key encrypts xorbs (`StoreKey.name`).
XORB_STORE = "xorbs"
_info_cache: OrderedDict[str, XorbInfo] = OrderedDict()
_info_lock = threading.Lock()
# Encrypted xorb uploads whose plaintext may wait in memory at once, per process (64 MiB each at
# most; the rest wait in an encrypted spool).
_MEMORY_SLOTS = 4
_memory_slots = threading.BoundedSemaphore(_MEMORY_SLOTS)


def _xorbs() -> LocalBackend:
    return storage_backend().sibling("xorbs")


def _shards() -> LocalBackend:
    return storage_backend().sibling("shards")


def xorb_store(*, expected: MerkleHash, source: BinaryIO, limits: XorbLimits = DEFAULT_LIMITS,
               encrypt: bool = False) -> tuple[XorbInfo, bool]:
    """Receive a xorb upload: parse, decompress and hash every chunk on its way to a temporary
    file, and keep it only if its content hashes to `expected` (`XetFormatError` otherwise,
    nothing kept). Returns its metadata and whether it was new. A xorb already stored is still
    received and checked whole: that is what proves the uploader holds its bytes.

    `encrypt`: store it encrypted (module doc), replacing a plain copy already stored."""
    key = expected.hex()
    backend = _xorbs()
    if not encrypt:
        with backend.staged(key) as staged:
            info = read_xorb(source, expected_hash=expected, sink=staged.file, limits=limits)
            staged.file.write(footer_bytes(info))
            inserted = staged.publish(key)
        _remember(key, info)
        return info, inserted
    with crypto_errors_as_http():
        data_key = store_data_key(XORB_STORE)  # before the body: a missing master key refuses at once
        with _plaintext_buffer(backend) as buffer:
            info = read_xorb(source, expected_hash=expected, sink=cast(BinaryIO, buffer), limits=limits)
            buffer.write(footer_bytes(info))
            size = buffer.tell()
            if stored_encrypted(expected):
                _remember(key, info)
                return info, False
            buffer.seek(0)
            with backend.staged(key) as staged:
                # No second hash: the records were just verified against the xorb's Merkle hash.
                for piece in EncryptedChunks(buffer, data_key=data_key, oid=key, size=size, hash_plaintext=False):
                    staged.file.write(piece)
                inserted = staged.publish(key, replace=True)
    _remember(key, info)
    return info, inserted


@contextmanager
def _plaintext_buffer(backend: LocalBackend) -> Iterator[io.BytesIO | EncryptedSpool]:
    """Where an encrypted xorb's plaintext waits between parsing and encryption: memory while
    `_MEMORY_SLOTS` xorbs of this process are not there already (a xorb is at most 64 MiB),
    else a spool on disk encrypted under a per-spool key. Never a plaintext file. Memory is
    the fast path: the spool's extra write, read and two CTR passes made an encrypted Xet
    upload 1.5x the plain one (bench.crypto_xet)."""
    if _memory_slots.acquire(blocking=False):
        buffer = io.BytesIO()
        try:
            yield buffer
        finally:
            buffer.close()
            _memory_slots.release()
        return
    backend.tmp_dir.mkdir(parents=True, exist_ok=True)
    with EncryptedSpool(backend.tmp_dir, suffix=".spool") as spool:
        yield spool


def stored_encrypted(xorb: MerkleHash) -> bool | None:
    """Whether the stored xorb is encrypted (None: not stored)."""
    try:
        with _xorbs().path_for(xorb.hex()).open("rb", buffering=0) as f:
            return looks_encrypted(f)
    except FileNotFoundError:
        return None


def xorb_encrypt(xorb: MerkleHash) -> bool:
    """Replace a stored plain xorb by its encrypted form (a repository that uses it became
    encrypted); True if it was plain. Verified on the way: the records must still hash to the
    xorb's name (`XetFormatError` otherwise, nothing replaced)."""
    if stored_encrypted(xorb) is not False:
        return False
    try:
        plain = _xorbs().open(xorb.hex())
    except LfsObjectNotFound:  # collected meanwhile
        return False
    with plain:
        xorb_store(expected=xorb, source=plain, encrypt=True)  # type: ignore[arg-type]
    return True


def _open(key: str) -> io.RawIOBase:
    """The stored xorb `key` as a seekable reader of its plaintext (records + footer),
    whichever its form; `LfsObjectNotFound` when it is not stored."""
    with crypto_errors_as_http():
        try:
            return open_plaintext(_xorbs().path_for(key), oid=key, key_for=store_key_lookup(XORB_STORE))
        except FileNotFoundError:
            raise LfsObjectNotFound(f"xorb {key} not found") from None


def xorb_info(xorb: MerkleHash) -> XorbInfo | None:
    """Metadata of a stored xorb (from its footer; cached, xorbs never change), or None."""
    key = xorb.hex()
    with _info_lock:
        cached = _info_cache.get(key)
        if cached is not None:
            _info_cache.move_to_end(key)
            return cached
    try:
        f = _open(key)
    except LfsObjectNotFound:
        return None
    with f:
        size = f.seek(0, io.SEEK_END)
        try:
            with crypto_errors_as_http():
                info = read_footer(cast(BinaryIO, f), size=size)
        except XetFormatError:
            return None  # damaged on disk: unusable, as if absent (and logged by the reader)
    if info.hash != xorb:
        return None
    _remember(key, info)
    return info


def _remember(key: str, info: XorbInfo) -> None:
    with _info_lock:
        _info_cache[key] = info
        _info_cache.move_to_end(key)
        while len(_info_cache) > _INFO_CACHE_SIZE:
            _info_cache.popitem(last=False)


def xorb_open_range(xorb: MerkleHash, start: int, end: int) -> BinaryIO:
    """A reader of bytes `[start, end)` of a stored xorb's records (also a context manager;
    sendfile-able when the xorb is stored plain)."""
    # The file opened once is the one read: a settle replacing a plain xorb by its encrypted
    # form meanwhile must not pair the plain format with the new file's bytes.
    f = _open(xorb.hex())
    f.seek(start)
    if isinstance(f, io.FileIO):
        return cast(BinaryIO, _Window(f, end - start, sendfile=True))
    return cast(BinaryIO, io.BufferedReader(_Window(f, end - start)))


def xorb_delete(xorb_hex: str) -> bool:
    with _info_lock:
        _info_cache.pop(xorb_hex, None)
    return _xorbs().delete(xorb_hex)


def stored_xorb_keys() -> Iterator[tuple[str, float]]:
    """(key, mtime) of every stored xorb file (garbage collection's sweep of files without a
    row, left by a crash between storing and indexing)."""
    yield from _stored_keys(_xorbs())


@contextmanager
def shard_staging() -> Iterator[Staged]:
    """A temporary file for a shard upload; `publish(sha256)` keeps it (`Staged`)."""
    with _shards().staged("shard") as staged:
        yield staged


def shard_delete(sha256: str) -> bool:
    return _shards().delete(sha256)


def _stored_keys(backend: LocalBackend) -> Iterator[tuple[str, float]]:
    root = backend.root
    if not root.is_dir():
        return
    for first in sorted(root.iterdir()):
        if not first.is_dir():
            continue
        for second in sorted(first.iterdir()):
            if not second.is_dir():
                continue
            for entry in second.iterdir():
                try:
                    yield entry.name, entry.stat().st_mtime
                except FileNotFoundError:
                    continue


class _Window(io.RawIOBase):
    """At most `left` bytes of a plaintext reader from its position. `fileno` only with
    `sendfile` (a plain file, positioned at the range start: the server sends Content-Length
    bytes from there); never for a decrypting reader, so no server sends ciphertext."""

    def __init__(self, f: io.RawIOBase, left: int, *, sendfile: bool = False) -> None:
        super().__init__()
        self._f = f
        self._left = left
        self._sendfile = sendfile

    def fileno(self) -> int:
        if not self._sendfile:
            raise io.UnsupportedOperation("a decrypted range has no descriptor")
        return self._f.fileno()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: object) -> int:
        out = memoryview(buffer).cast("B")  # type: ignore[arg-type]
        if self._left <= 0 or not len(out):
            return 0
        with crypto_errors_as_http():
            n = self._f.readinto(out[:self._left]) or 0
        self._left -= n
        return n

    def close(self) -> None:
        if not self.closed:
            self._f.close()
        super().close()
