"""A repository revision as a plain read-only directory, for a job's runner.

Files are written from git (small files) and through the byte door (`repos.objects`, LFS
content: decrypted and linked-to-this-repo checks included); nothing reads the store directly.
The walk is bounded (the hub's tree limits plus a file count and a byte budget) and symlinks
and submodules are not materialised. The directory is world-readable (the sandbox runs the
job as another uid) and is removed when the `snapshot` block ends, whatever happened.
"""
from __future__ import annotations

import io
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from repos import objects
from repos.git.errors import GitError, InvalidPath, TreeTooLarge
from repos.git.paths import normalize_repo_path
from repos.handles import git_repo, walk_limits
from repos.lfs.errors import LfsError
from repos.lfs.pointer import MAX_POINTER_SIZE, parse_pointer
from repos.models import Repository

_CHUNK = 1024 * 1024
_SYMLINK_MODE = 0o120000


class SnapshotError(Exception):
    """The revision cannot be materialised (missing commit or object, too large); the message
    is meant for the job's user."""


@dataclass(frozen=True)
class SnapshotLimits:
    max_files: int = 10_000
    max_bytes: int = 20 * 1024**3


def materialize(*, repo: Repository, sha: str, dest: Path, limits: SnapshotLimits = SnapshotLimits()) -> int:
    """Write the files of `repo` at commit `sha` under `dest` (an existing empty directory);
    returns the number of bytes written. Raises SnapshotError."""
    git = git_repo(repo)
    total = files = 0
    try:
        for entry in git.walk(sha, files_only=True, limits=walk_limits()):
            if entry.mode == _SYMLINK_MODE or not _safe(entry.path):
                continue
            files += 1
            if files > limits.max_files:
                raise SnapshotError(f"{repo.repo_id} has more than {limits.max_files} files at {sha[:12]}")
            source, size = _open_entry(repo, git.read_blob, entry.oid, entry.size, entry.path)
            total += size
            if total > limits.max_bytes:
                source.close()
                raise SnapshotError(f"{repo.repo_id} at {sha[:12]} is larger than {limits.max_bytes} bytes")
            target = dest / entry.path
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
            with source, open(target, "wb") as out:
                shutil.copyfileobj(source, out, _CHUNK)
            os.chmod(target, 0o644)
    except TreeTooLarge as exc:
        raise SnapshotError(f"{repo.repo_id} at {sha[:12]}: {exc}") from None
    except GitError as exc:
        raise SnapshotError(f"{repo.repo_id} has no commit {sha[:12]} ({exc})") from None
    return total


def _safe(path: str) -> bool:
    try:
        return normalize_repo_path(path) == path
    except InvalidPath:
        return False


def _open_entry(repo: Repository, read_blob: Callable[[str], bytes], oid: str, size: int,
                path: str) -> tuple[BinaryIO, int]:
    data = read_blob(oid)
    if size < MAX_POINTER_SIZE:
        pointer = parse_pointer(data)
        if pointer is not None:
            try:
                return objects.open_object(repo=repo, oid=pointer.oid), pointer.size
            except LfsError:
                raise SnapshotError(f"the content of {path} ({pointer.oid[:12]}) is not stored on this hub") from None
    return io.BytesIO(data), len(data)


@contextmanager
def snapshot(*, repo: Repository, sha: str, root: Path, limits: SnapshotLimits = SnapshotLimits()) -> Iterator[Path]:
    """A temporary directory under `root` holding `repo` at `sha`, removed on exit."""
    root.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=f"snap-{repo.pk}-{sha[:12]}-", dir=root))
    try:
        os.chmod(path, 0o755)
        materialize(repo=repo, sha=sha, dest=path, limits=limits)
        _read_only(path)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _read_only(path: Path) -> None:
    """Files 0444 (the sandbox mounts the tree read-only anyway; this also covers runs with
    the sandbox turned off). Directories stay writable by us so the tree can be removed."""
    for dirpath, _dirs, names in os.walk(path):
        for name in names:
            os.chmod(os.path.join(dirpath, name), 0o444)
