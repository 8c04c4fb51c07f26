"""Write a file next to its final path, then publish it with one atomic rename.

Invariant: at every instant the target path names either its old complete content or its new
complete content, never a partial file, even across a crash or ``kill -9``. The temporary file
lives in the target's own directory (same filesystem, so ``os.replace`` is a rename and not a
copy), is created with mode 0600 (no window where another user can open it), is fsynced before
it is renamed, and the directory is fsynced after, so the rename itself survives a power loss.

A crash can leave a temporary file behind. Its name starts with ``.`` and ends with
``TEMP_SUFFIX``, so it is never a valid object id; ``stale_temp_files`` finds them for a
janitor. When the target is an encrypted object, the temporary file only ever holds
ciphertext, so a leftover one leaks nothing.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

TEMP_SUFFIX = ".mhtmp"


class AtomicFile:
    """A temporary file that becomes ``target`` on ``commit()`` and vanishes otherwise.

    Use as a context manager; leaving the block without ``commit()`` (normally or by an
    exception) deletes the temporary file and leaves ``target`` as it was::

        with AtomicFile(path, mode=0o640) as out:
            out.file.write(...)
            out.commit()

    ``no_clobber=True`` publishes with ``os.link`` instead of ``os.replace``: ``commit()`` then
    raises ``FileExistsError`` rather than replace an existing file (used for key files, where
    overwriting would lose the only key to existing data).
    """

    def __init__(self, target: Path, *, mode: int = 0o600, no_clobber: bool = False) -> None:
        self.target = Path(target)
        self._mode = mode
        self._no_clobber = no_clobber
        fd, name = tempfile.mkstemp(prefix=f".{self.target.name}.", suffix=TEMP_SUFFIX, dir=self.target.parent)
        self.temp_path = Path(name)
        self.file: BinaryIO = os.fdopen(fd, "w+b")
        self._done = False

    def commit(self) -> None:
        """Make the written bytes durable, then publish them at ``target`` atomically."""
        if self._done:
            raise RuntimeError("AtomicFile already committed or aborted")
        self.file.flush()
        os.fsync(self.file.fileno())
        os.fchmod(self.file.fileno(), self._mode)
        self.file.close()
        try:
            if self._no_clobber:
                os.link(self.temp_path, self.target)
                self.temp_path.unlink()
            else:
                os.replace(self.temp_path, self.target)
        except BaseException:
            self.abort()
            raise
        self._done = True
        fsync_dir(self.target.parent)

    def abort(self) -> None:
        """Discard the temporary file; ``target`` is untouched. Safe to call more than once."""
        self._done = True
        with contextlib.suppress(OSError):
            self.file.close()
        with contextlib.suppress(FileNotFoundError):
            self.temp_path.unlink()

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self._done:
            self.abort()


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable. Some platforms cannot open a directory; the file is
    complete either way, so failing to sync the directory is not an error."""
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


def stale_temp_files(directory: Path, *, older_than_s: float, now: float | None = None) -> Iterator[Path]:
    """Temporary files in ``directory`` (not recursive) abandoned for longer than ``older_than_s``.

    ``older_than_s`` must exceed the longest plausible rewrite, or a live one is reported.
    """
    cutoff = (time.time() if now is None else now) - older_than_s
    with contextlib.suppress(FileNotFoundError):
        for entry in directory.iterdir():
            if not (entry.name.startswith(".") and entry.name.endswith(TEMP_SUFFIX)):
                continue
            with contextlib.suppress(FileNotFoundError):
                if entry.is_file() and entry.stat().st_mtime < cutoff:
                    yield entry
