"""Differences between two commits, per file and as one `git diff` text.

Diffs are computed by libgit2 from the two trees (no work tree, no subprocess). Renames are
detected like `git diff` does by default (similarity >= 50%), so a moved file reads as one
rename instead of a delete plus an add.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pygit2
from pygit2.enums import DeltaStatus

from repos.git.repository import GitRepo

DiffStatus = Literal["added", "modified", "deleted", "renamed"]

_STATUS: dict[DeltaStatus, DiffStatus] = {
    DeltaStatus.ADDED: "added",
    DeltaStatus.COPIED: "added",  # a copy is a new file whose content came from elsewhere
    DeltaStatus.MODIFIED: "modified",
    DeltaStatus.TYPECHANGE: "modified",  # e.g. a file becoming a symlink
    DeltaStatus.DELETED: "deleted",
    DeltaStatus.RENAMED: "renamed",
}


@dataclass(frozen=True)
class FileDiff:
    """The change to one file. `old_path` is None for added files, else the path before."""

    path: str
    old_path: str | None
    status: DiffStatus
    additions: int
    deletions: int
    is_binary: bool
    patch: str  # this file's part of `git diff` ("Binary files ... differ" for binaries)


def _decode(raw: bytes) -> str:
    # File contents and names in a repository can be any bytes; never fail a diff page.
    return raw.decode("utf-8", errors="replace")


def _diff(repo: GitRepo, old_sha: str | None, new_sha: str, context_lines: int) -> pygit2.Diff:
    new_tree = repo.get_commit(new_sha).tree
    if old_sha is None:
        # Against the empty tree: everything is added (a root commit's diff).
        diff = new_tree.diff_to_tree(context_lines=context_lines, swap=True)
    else:
        old_tree = repo.get_commit(old_sha).tree
        diff = old_tree.diff_to_tree(new_tree, context_lines=context_lines)
    diff.find_similar()
    return diff


def diff_commits(
    repo: GitRepo,
    old_sha: str | None,
    new_sha: str,
    *,
    context_lines: int = 3,
    max_patch_bytes: int | None = None,
) -> list[FileDiff]:
    """Per-file changes from commit `old_sha` (None = nothing) to commit `new_sha`.

    Sorted by path. With `max_patch_bytes`, a file's patch longer than that is returned as
    "" (its line counts stay exact) so that one huge file cannot blow up a page or response.
    """
    diff = _diff(repo, old_sha, new_sha, context_lines)
    out: list[FileDiff] = []
    for patch in diff:
        if patch is None:
            continue
        delta = patch.delta
        status = _STATUS.get(delta.status)
        if status is None:
            continue  # unmodified / ignored / untracked cannot occur between two trees
        _, additions, deletions = patch.line_stats
        text = _decode(patch.data)
        if max_patch_bytes is not None and len(patch.data) > max_patch_bytes:
            text = ""
        path = _decode(delta.new_file.raw_path)
        old_path = None if status == "added" else _decode(delta.old_file.raw_path)
        out.append(
            FileDiff(
                path=path,
                old_path=old_path,
                status=status,
                additions=additions,
                deletions=deletions,
                is_binary=bool(delta.is_binary),
                patch=text,
            )
        )
    out.sort(key=lambda d: d.path)
    return out


def unified_diff(
    repo: GitRepo, old_sha: str | None, new_sha: str, *, context_lines: int = 3
) -> str:
    """The whole change as `git diff old new` would print it ("" when trees are equal)."""
    diff = _diff(repo, old_sha, new_sha, context_lines)
    return "".join(_decode(patch.data) for patch in diff if patch is not None)
