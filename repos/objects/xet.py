"""The byte door's second object kind: Xet xorbs and shards (XET.md §4.4, §4.5).

Stored beside the LFS objects, by the same backend (`STORAGES["lfs"]`, kinds "xorbs" and
"shards"), content-addressed by their Xet hash (xorbs) or sha256 (shards). A stored xorb is the
chunk records exactly as uploaded followed by our own v1 footer, so its metadata is read back
from the footer without touching chunk data, and fetch URLs serve byte ranges of the records.

Nothing here decides who may use a xorb: that is the provenance index (`repos.models.xet`),
kept by `repos.services.xet`. Files registered from xorbs become ordinary LFS objects through
`repos.objects.ingest`.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

from repos.objects.backends.local import LocalBackend, Staged
from repos.objects.door import storage_backend
from repos.xet.errors import XetFormatError
from repos.xet.hashes import MerkleHash
from repos.xet.xorb import DEFAULT_LIMITS, XorbInfo, XorbLimits, footer_bytes, read_footer, read_xorb

_INFO_CACHE_SIZE = 256
_info_cache: OrderedDict[str, XorbInfo] = OrderedDict()
_info_lock = threading.Lock()


def _xorbs() -> LocalBackend:
    return storage_backend().sibling("xorbs")


def _shards() -> LocalBackend:
    return storage_backend().sibling("shards")


def xorb_store(*, expected: MerkleHash, source: BinaryIO, limits: XorbLimits = DEFAULT_LIMITS) -> tuple[XorbInfo, bool]:
    """Receive a xorb upload: parse, decompress and hash every chunk on its way to a temporary
    file, and keep it only if its content hashes to `expected` (`XetFormatError` otherwise,
    nothing kept). Returns its metadata and whether it was new. A xorb already stored is still
    received and checked whole: that is what proves the uploader holds its bytes."""
    key = expected.hex()
    with _xorbs().staged(key) as staged:
        info = read_xorb(source, expected_hash=expected, sink=staged.file, limits=limits)
        staged.file.write(footer_bytes(info))
        inserted = staged.publish(key)
    _remember(key, info)
    return info, inserted


def xorb_info(xorb: MerkleHash) -> XorbInfo | None:
    """Metadata of a stored xorb (from its footer; cached, xorbs never change), or None."""
    key = xorb.hex()
    with _info_lock:
        cached = _info_cache.get(key)
        if cached is not None:
            _info_cache.move_to_end(key)
            return cached
    backend = _xorbs()
    size = backend.size(key)
    if size is None:
        return None
    with backend.open(key) as f:
        try:
            info = read_footer(f, size=size)
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
    """A reader of bytes `[start, end)` of a stored xorb's records (also a context manager)."""
    return _xorbs().open_range(xorb.hex(), start, end)


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
