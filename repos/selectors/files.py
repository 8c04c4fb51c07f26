"""Files of a revision as the hub shows them: real sizes, LFS pointers resolved, last commits.

Git stores an LFS file as a small pointer blob; every surface (API, resolve, HTML) must report
the size and id of the *content*, so the translation lives here, once.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from hub.exceptions import EntryNotFound
from repos.git.errors import InvalidPath
from repos.git.repository import CommitInfo, GitRepo, TreeEntry
from repos.lfs.pointer import LfsPointer, parse_pointer

# A canonical pointer ("version ...\n" 43 B + "oid sha256:<64>\n" 76 B + "size N\n") is
# 126 to ~146 bytes. Blobs outside this window are never read to look for one, so listing a
# tree of large regular files costs no blob reads at all.
_POINTER_MIN_SIZE = 126
_POINTER_MAX_SIZE = 200


@dataclass(frozen=True)
class RepoEntry:
    """A file or directory at a revision, with its content-level size."""

    path: str
    type: Literal["file", "directory"]
    oid: str  # git blob id (the pointer's, for LFS files) or git tree id
    size: int  # content size for files (the LFS object's size for pointers), 0 for directories
    lfs: LfsPointer | None = None
    pointer_size: int | None = None  # size of the pointer blob, for LFS files
    last_commit: CommitInfo | None = None

    @property
    def is_lfs(self) -> bool:
        return self.lfs is not None

    @property
    def etag(self) -> str:
        """HF's file id: sha256 of the content for LFS files, the git blob id otherwise."""
        return self.lfs.oid if self.lfs is not None else self.oid


@dataclass(frozen=True)
class ResolvedFile:
    """A file found at a resolved revision (what /resolve/ serves)."""

    sha: str
    entry: RepoEntry


def lfs_pointer_of(git: GitRepo, entry: TreeEntry) -> LfsPointer | None:
    """The LFS pointer stored in a file entry, or None if it is an ordinary blob."""
    if entry.type != "file" or not _POINTER_MIN_SIZE <= entry.size <= _POINTER_MAX_SIZE:
        return None
    return parse_pointer(git.read_blob(entry.oid))


def repo_entry(git: GitRepo, entry: TreeEntry, *, detect_lfs: bool = True) -> RepoEntry:
    """A tree entry as the hub reports it; `detect_lfs=False` skips the pointer check."""
    if entry.type != "file":
        return RepoEntry(path=entry.path, type="directory", oid=entry.oid, size=0)
    pointer = lfs_pointer_of(git, entry) if detect_lfs else None
    if pointer is None:
        return RepoEntry(path=entry.path, type="file", oid=entry.oid, size=entry.size)
    return RepoEntry(path=entry.path, type="file", oid=entry.oid, size=pointer.size, lfs=pointer,
                     pointer_size=entry.size)


def repo_entries(git: GitRepo, entries: Iterable[TreeEntry], *, sha: str, expand: bool = False) -> list[RepoEntry]:
    """Entries with LFS resolved, plus each entry's last commit when `expand` is set."""
    out = [repo_entry(git, e) for e in entries]
    if expand and out:
        commits = git.last_commit_for_paths(sha, [e.path for e in out])
        out = [replace(e, last_commit=commits.get(e.path)) for e in out]
    return out


def entry_get(git: GitRepo, *, sha: str, path: str) -> TreeEntry | None:
    """The entry at `path`, or None when missing or not a possible path (`../x`)."""
    try:
        return git.get_entry(sha, path)
    except InvalidPath:
        return None


def file_resolve(*, git: GitRepo, rev: str, path: str) -> ResolvedFile:
    """Resolve `rev` and find the file at `path`.

    Raises the git layer's RevisionNotFound for an unknown revision (map it with
    `git_errors_as_http`), and EntryNotFound carrying `X-Repo-Commit` for a missing file or a
    folder: clients cache that answer as "absent at this commit".
    """
    sha = git.resolve(rev)
    entry = entry_get(git, sha=sha, path=path) if path else None
    if entry is None or entry.type != "file":
        raise EntryNotFound(f"Entry not found: {path!r} at revision {sha}", headers={"X-Repo-Commit": sha})
    return ResolvedFile(sha=sha, entry=repo_entry(git, entry))


def entries_for_paths(git: GitRepo, *, sha: str, paths: Sequence[str], expand: bool = False) -> list[RepoEntry]:
    """Entries for the paths that exist, in request order; missing or impossible paths and
    repeats are left out silently (HF's paths-info contract)."""
    found: list[TreeEntry] = []
    seen: set[str] = set()
    for path in paths:
        entry = entry_get(git, sha=sha, path=path) if path not in ("", "/") else None
        if entry is not None and entry.path not in seen:
            seen.add(entry.path)
            found.append(entry)
    return repo_entries(git, found, sha=sha, expand=expand)
