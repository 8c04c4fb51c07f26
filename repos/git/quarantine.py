"""Reading a push while it is still in git's quarantine (inside the pre-receive hook).

receive-pack writes incoming objects to a temporary object directory and tells its hooks
where (`GIT_QUARANTINE_PATH`, `GIT_OBJECT_DIRECTORY`, `GIT_ALTERNATE_OBJECT_DIRECTORIES`).
The objects only move into the repository if the hook accepts, so anything the policy reads
here is read before it can be seen by anyone. A quarantine left by a killed receive-pack is
reaped later (`reap_stale_quarantines`). Pure layer: no Django.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pygit2
from pygit2.enums import ObjectType

from repos.git.errors import GitError
from repos.git.limits import TreeStats, WalkLimits, tree_stats
from repos.git.repository import GitRepo
from repos.git.smart_http import git_env

_KINDS = {
    ObjectType.COMMIT: "commit",
    ObjectType.TREE: "tree",
    ObjectType.BLOB: "blob",
    ObjectType.TAG: "tag",
}
REV_LIST_TIMEOUT = 600.0


@dataclass(frozen=True)
class PushedBlob:
    """A blob the push adds, with the path it was first seen at."""

    oid: str
    path: str
    size: int


def _inside(path: str, root: Path) -> bool:
    try:
        return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))
    except (OSError, ValueError):
        return False


def quarantine_env(git_dir: Path, hook_env: Mapping[str, str]) -> dict[str, str]:
    """The quarantine variables a hook received, checked to point inside `git_dir/objects`.

    A push that sends no pack (only deletions) has no quarantine: then the result is empty
    and the policy reads the repository as it is. A quarantine anywhere else is refused:
    the policy must read exactly the objects receive-pack is about to accept.
    """
    objects = Path(git_dir) / "objects"
    quarantine = hook_env.get("GIT_QUARANTINE_PATH", "")
    object_dir = hook_env.get("GIT_OBJECT_DIRECTORY", "")
    if not quarantine and not object_dir:
        return {}
    if not quarantine or not object_dir:
        raise GitError("The push quarantine is incomplete")
    if not _inside(quarantine, objects) or not _inside(object_dir, objects):
        raise GitError("The push quarantine is outside the repository")
    return {
        "GIT_QUARANTINE_PATH": quarantine,
        "GIT_OBJECT_DIRECTORY": object_dir,
        "GIT_ALTERNATE_OBJECT_DIRECTORIES": os.fspath(objects),
    }


class QuarantinedPush:
    """The repository as the pre-receive hook sees it: its refs, plus the pushed objects."""

    def __init__(self, git_dir: Path, env: Mapping[str, str]) -> None:
        self.git_dir = Path(git_dir)
        self.env = dict(env)
        self.repo = GitRepo.open(self.git_dir)
        if "GIT_OBJECT_DIRECTORY" in self.env:
            # libgit2 does not read GIT_OBJECT_DIRECTORY; the quarantine becomes an alternate.
            self.repo.raw.odb.add_disk_alternate(self.env["GIT_OBJECT_DIRECTORY"])

    def kind(self, oid: str) -> str | None:
        """"commit", "tree", "blob", "tag", or None when the object does not exist."""
        try:
            kind, _size = self.repo.raw.odb.read_header(oid)
        except (KeyError, ValueError, pygit2.GitError):
            return None
        return _KINDS.get(kind)

    def blob_size(self, oid: str) -> int:
        _kind, size = self.repo.raw.odb.read_header(oid)
        return int(size)

    def read(self, oid: str) -> bytes:
        _kind, data = self.repo.raw.odb.read(oid)
        return bytes(data)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """True when `descendant` contains `ancestor` (a fast-forward from it)."""
        if ancestor == descendant:
            return True
        try:
            return bool(self.repo.raw.descendant_of(descendant, ancestor))
        except (KeyError, ValueError, pygit2.GitError):
            return False

    def current_ref(self, ref: str) -> str | None:
        try:
            reference = self.repo.raw.references.get(ref)
        except (KeyError, ValueError, pygit2.GitError):
            return None
        if reference is None:
            return None
        try:
            return str(reference.resolve().target)
        except (KeyError, ValueError, pygit2.GitError):
            return None

    def new_commits(self, tips: Sequence[str]) -> Iterator[str]:
        """Commits reachable from `tips` but from no existing ref: the history the push adds."""
        yield from self._rev_list(tips, objects=False)

    def tree_stats(self, commit: str, *, limits: WalkLimits, cache: dict[str, TreeStats]) -> TreeStats:
        """Paths, depth and widest folder of a pushed commit's tree (memoized across commits
        through `cache`: a push of many commits sharing most trees costs its unique trees)."""
        return tree_stats(self.repo.raw, self.repo.get_commit(commit).tree_id, limits=limits, cache=cache)

    def new_blobs(self, tips: Sequence[str]) -> Iterator[PushedBlob]:
        """Blobs reachable from `tips` but from no existing ref: what the push adds.

        Streams `git rev-list --objects` so that memory stays flat whatever the push size.
        """
        for line in self._rev_list(tips, objects=True):
            oid, _, path = line.partition(" ")
            if not path:
                continue  # commits (and the root tree) are listed without a path
            try:
                kind, size = self.repo.raw.odb.read_header(oid)
            except (KeyError, ValueError, pygit2.GitError):
                continue
            if kind == ObjectType.BLOB:
                yield PushedBlob(oid=oid, path=path, size=int(size))

    def _rev_list(self, tips: Sequence[str], *, objects: bool) -> Iterator[str]:
        """`git rev-list [--objects] <tips> --not --all`, streamed line by line."""
        if not tips:
            return
        argv = ["git", "--git-dir", os.fspath(self.git_dir), "rev-list", *(["--objects"] if objects else []),
                "--stdin", "--not", "--all"]
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=git_env(self.env), start_new_session=True)
        assert proc.stdin is not None and proc.stdout is not None
        try:
            # Tips go through stdin: never on the command line, where "-x" could be an option.
            proc.stdin.write("".join(f"{tip}\n" for tip in tips).encode())
            proc.stdin.close()
            for raw_line in proc.stdout:
                yield raw_line.decode("utf-8", "surrogateescape").rstrip("\n")
            proc.wait(REV_LIST_TIMEOUT)
            if proc.returncode != 0:
                err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
                raise GitError(f"Could not list the pushed objects: {err.strip()[:500]}")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()


QUARANTINE_PREFIX = "tmp_objdir-incoming-"


def reap_stale_quarantines(git_dir: Path, *, older_than: float, now: float | None = None) -> int:
    """Remove push quarantines (`objects/tmp_objdir-incoming-*`) older than `older_than`
    seconds; returns how many were removed.

    receive-pack removes its quarantine itself when a push fails, but not when it is killed
    (a web worker killed mid-push, a timeout): such a directory holds objects nobody will
    ever reference. `older_than` must exceed the longest possible push (our time bound),
    so a live push's quarantine is never touched.
    """
    objects = Path(git_dir) / "objects"
    cutoff = (time.time() if now is None else now) - older_than
    removed = 0
    try:
        entries = list(objects.iterdir())
    except FileNotFoundError:
        return 0
    for entry in entries:
        if not entry.name.startswith(QUARANTINE_PREFIX):
            continue
        try:
            if entry.is_symlink() or not entry.is_dir() or entry.stat().st_mtime >= cutoff:
                continue
        except FileNotFoundError:
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed += 1
    return removed
