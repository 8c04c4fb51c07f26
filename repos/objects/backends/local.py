"""The local filesystem backend of the byte door (`repos.objects`): content-addressed objects.

Pure (no Django): only `repos.objects` uses it, configured by `STORAGES["lfs"]`.

Invariant: a file exists at ``path_for(oid)`` only if its bytes hash to ``oid``. Uploads are
streamed into a private temporary file, hashed and counted on the way, and renamed into place
only after both checks pass. Because the final rename is atomic and every writer of an oid
writes identical bytes, concurrent uploads of the same object need no lock: whichever rename
lands last replaces an intact file with an identical intact file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, BinaryIO, Protocol, cast

from repos.lfs.errors import InvalidOid, LfsObjectNotFound, LfsVerifyError
from repos.lfs.pointer import is_valid_oid

CHUNK_SIZE = 1024 * 1024
# Objects are immutable once stored; group-readable so a separate git-hook or web process
# running under the same group can serve them, never world-readable (private repos).
_OBJECT_MODE = 0o640


class _Readable(Protocol):
    def read(self, n: int = ..., /) -> bytes: ...


Source = Iterable[bytes] | _Readable
# Content chunks (verified on the way) -> the chunks actually stored.
Transform = Callable[[Iterator[bytes]], Iterable[bytes]]
BeforePublish = Callable[[Callable[[], BinaryIO]], None]


class LocalBackend:
    """Objects live at ``root/ab/cd/abcd...`` (the git-lfs layout, so a directory can be
    inspected or migrated with ordinary tools); temporary files live in ``tmp_dir``, which must
    be on the same filesystem as ``root`` for ``os.replace`` to be an atomic rename."""

    def __init__(self, location: Path | str, tmp_location: Path | str | None = None) -> None:
        self.root = Path(location)
        self.tmp_dir = Path(tmp_location) if tmp_location is not None else self.root / ".tmp"

    def path_for(self, oid: str) -> Path:
        # Validation here is what keeps a user-supplied oid from naming any other path.
        if not is_valid_oid(oid):
            raise InvalidOid(f"invalid LFS oid: {oid!r}")
        return self.root / oid[0:2] / oid[2:4] / oid

    def exists(self, oid: str) -> bool:
        return self.path_for(oid).is_file()

    def size(self, oid: str) -> int | None:
        try:
            return self.path_for(oid).stat().st_size
        except FileNotFoundError:
            return None

    def open(self, oid: str) -> BinaryIO:
        try:
            return self.path_for(oid).open("rb")
        except FileNotFoundError:
            raise LfsObjectNotFound(f"LFS object {oid} not found") from None

    def delete(self, oid: str) -> bool:
        """Remove an object; True if it existed. Empty fan-out directories are left alone:
        removing them would race with a concurrent writer creating the same directory."""
        try:
            self.path_for(oid).unlink()
        except FileNotFoundError:
            return False
        return True

    def write_stream(self, oid: str, size: int, chunks: Source, *, transform: Transform | None = None,
                     before_publish: BeforePublish | None = None) -> None:
        """Store the object ``oid`` from ``chunks`` if and only if it is exactly ``size`` bytes
        hashing to ``oid``; otherwise raise ``LfsVerifyError`` and leave nothing behind.

        Memory use is bounded by one chunk whatever the object size. A stream that runs past
        ``size`` is cut off at once instead of being written to disk to the end.

        ``transform`` turns the verified content into the bytes stored (the door's ingest
        filters: encryption); ``before_publish`` gets an opener of the stored temporary file once
        the content is verified and may raise to refuse the object (scanning) - nothing is kept.
        """
        final_path = self.path_for(oid)
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"invalid LFS size: {size!r}")
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f"{oid[:16]}-", suffix=".part", dir=self.tmp_dir)
        tmp_path = Path(tmp_name)
        try:
            digest = hashlib.sha256()
            count = 0
            def verified() -> Iterator[bytes]:
                nonlocal count
                for chunk in _iter_chunks(chunks):
                    count += len(chunk)
                    if count > size:
                        raise LfsVerifyError(f"size mismatch: expected {size} got at least {count}")
                    digest.update(chunk)
                    yield chunk
                if count != size:
                    raise LfsVerifyError(f"size mismatch: expected {size} got {count}")
                actual = digest.hexdigest()
                if actual != oid:
                    raise LfsVerifyError(f"sha256 mismatch: expected {oid} got {actual}")

            with os.fdopen(fd, "wb") as out:
                stored = transform(verified()) if transform is not None else verified()
                for chunk in stored:
                    out.write(chunk)
                out.flush()
                # Durable before visible: after a crash the object is either whole or absent.
                os.fsync(out.fileno())
            os.chmod(tmp_path, _OBJECT_MODE)
            if before_publish is not None:
                before_publish(lambda: tmp_path.open("rb"))
            final_path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp_path, final_path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp_path.unlink()
            raise
        _fsync_dir(final_path.parent)

    # ------------------------------------------------------------------ other object kinds

    def sibling(self, kind: str) -> LocalBackend:
        """The store of another kind of content-addressed object (Xet xorbs, shards): same
        layout, same temporary directory, under ``root/xet/<kind>`` - a name the ``ab/cd``
        fan-out of LFS objects never uses. Keys are 64 lowercase hex, like oids."""
        if kind not in ("xorbs", "shards"):
            raise ValueError(f"unknown object kind {kind!r}")
        return LocalBackend(self.root / "xet" / kind, self.tmp_dir)

    def enclave(self, name: str) -> LocalBackend:
        """The store of one repository's encrypted objects: same layout, same temporary
        directory, under ``root/enc/<name>`` (32 lowercase hex, the repository's storage key) -
        a name the ``ab/cd`` fan-out never uses. Objects there are deduplicated within the
        repository only, so no repository can obtain another's bytes by naming an oid."""
        if not (len(name) == 32 and all(c in "0123456789abcdef" for c in name)):
            raise ValueError(f"invalid enclave name {name!r}")
        return LocalBackend(self.root / "enc" / name, self.tmp_dir)

    @contextmanager
    def staged(self, prefix: str) -> Iterator[Staged]:
        """A temporary file to write an object into; ``publish(key)`` makes it the object
        ``key`` (the caller verified the content: here nothing hashes it). Leaving the block
        without publishing, or by an exception, removes it."""
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f"{prefix[:16]}-", suffix=".part", dir=self.tmp_dir)
        staged = Staged(self, Path(tmp_name), os.fdopen(fd, "w+b"))
        try:
            yield staged
        finally:
            staged.file.close()
            with contextlib.suppress(FileNotFoundError):
                staged.tmp_path.unlink()

    def open_range(self, key: str, start: int, end: int) -> BinaryIO:
        """A reader of bytes ``[start, end)`` of object ``key`` (nothing past ``end``)."""
        f = self.open(key)
        f.seek(start)
        return cast(BinaryIO, _RangeReader(f, end - start))

    def purge_stale_temp(self, older_than_s: float, *, now: float | None = None) -> int:
        """Delete temporary files abandoned by crashed writers; returns how many were removed.
        ``older_than_s`` must exceed the longest plausible upload, or a live one is lost."""
        if not self.tmp_dir.is_dir():
            return 0
        cutoff = (time.time() if now is None else now) - older_than_s
        removed = 0
        for entry in self.tmp_dir.iterdir():
            try:
                if entry.is_file() and entry.stat().st_mtime < cutoff:
                    entry.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed


class Staged:
    """A temporary file in a backend's temporary directory (``LocalBackend.staged``)."""

    def __init__(self, backend: LocalBackend, tmp_path: Path, file: IO[bytes]) -> None:
        self.backend = backend
        self.tmp_path = tmp_path
        self.file = file

    def publish(self, key: str, *, replace: bool = False) -> bool:
        """Make the written bytes object ``key``, durably; False (and nothing changes) when the
        store already holds ``key`` - content-addressed, so the bytes are the same. With
        ``replace`` the stored file is replaced all the same (same content in another form: a
        plain copy by an encrypted one), atomically; still False, the content was not new."""
        final_path = self.backend.path_for(key)
        self.file.flush()
        os.fsync(self.file.fileno())
        existed = final_path.is_file()
        if existed and not replace:
            return False
        os.chmod(self.tmp_path, _OBJECT_MODE)
        final_path.parent.mkdir(parents=True, exist_ok=True)
        if replace:
            os.replace(self.tmp_path, final_path)
        else:
            # No-clobber, atomically: a copy published meanwhile in another form (encrypted)
            # must not be replaced by this one.
            try:
                os.link(self.tmp_path, final_path)
            except FileExistsError:
                return False
            except OSError:  # a filesystem without hard links: the rename, whose window is tiny
                os.replace(self.tmp_path, final_path)
        _fsync_dir(final_path.parent)
        return not existed


class _RangeReader:
    """Reads at most ``left`` bytes from ``f`` (a byte range of a stored object)."""

    def __init__(self, f: BinaryIO, left: int) -> None:
        self._f = f
        self._left = left

    def read(self, n: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        data = self._f.read(self._left if n is None or n < 0 else min(n, self._left))
        self._left -= len(data)
        return data

    def fileno(self) -> int:  # lets a WSGI server sendfile the range (Content-Length bounds it)
        return self._f.fileno()

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> _RangeReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _iter_chunks(source: Source) -> Iterable[bytes]:
    read = getattr(source, "read", None)
    if callable(read):
        while True:
            chunk = read(CHUNK_SIZE)
            if not chunk:
                return
            yield bytes(chunk) if not isinstance(chunk, bytes) else chunk
    if isinstance(source, (bytes, bytearray, memoryview)):
        # Iterating a bytes object yields ints; wrap it as [data] instead.
        raise TypeError("pass an iterable of byte chunks or a file-like object, not bytes")
    for chunk in cast(Iterable[bytes], source):
        if chunk:
            yield chunk


def _fsync_dir(path: Path) -> None:
    # Makes the rename itself durable. Not every platform can open a directory; the object
    # is already complete either way, so failure here is not an error.
    try:
        dir_fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
