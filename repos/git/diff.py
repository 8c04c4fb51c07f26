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

from repos.git.errors import TreeTooLarge
from repos.git.limits import DEFAULT_LIMITS, Deadline, TreeStats, WalkLimits, tree_stats
from repos.git.repository import GitRepo

_TREE_MODE = int(pygit2.enums.FileMode.TREE)
_GITLINK_MODE = int(pygit2.enums.FileMode.COMMIT)
# Past this many changed paths a diff is "too large to display" (the page or API says so).
MAX_CHANGED_PATHS = 20_000

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


def count_changed_paths(repo: GitRepo, old_sha: str | None, new_sha: str, *,
                        limits: WalkLimits = DEFAULT_LIMITS, stop_after: int = MAX_CHANGED_PATHS) -> int:
    """How many paths differ between two commits, counted without diffing anything: subtrees
    with the same id are skipped, an added or removed folder counts its paths (memoized per
    tree id), and counting stops past `stop_after` (returns stop_after + 1).

    This is what keeps a diff bounded: libgit2 computes a whole diff before returning any of
    it, so a diff is only started once this count says it fits.
    """
    raw = repo.raw
    memo: dict[str, TreeStats] = {}
    deadline = Deadline(limits.seconds)
    new_tree = repo.get_commit(new_sha).tree
    old_tree = repo.get_commit(old_sha).tree if old_sha is not None else None
    if old_tree is not None and old_tree.id == new_tree.id:
        return 0
    changed = 0
    stack: list[tuple[pygit2.Tree | None, pygit2.Tree | None]] = [(old_tree, new_tree)]
    while stack:
        old, new = stack.pop()
        old_entries = _entries(old, limits)
        new_entries = _entries(new, limits)
        for name in old_entries.keys() | new_entries.keys():
            deadline.check()
            a, b = old_entries.get(name), new_entries.get(name)
            if a is not None and b is not None and a.id == b.id and a.filemode == b.filemode:
                continue
            a_tree = a is not None and int(a.filemode) == _TREE_MODE
            b_tree = b is not None and int(b.filemode) == _TREE_MODE
            if a_tree and b_tree:
                assert a is not None and b is not None
                old_sub, new_sub = raw[a.id], raw[b.id]
                assert isinstance(old_sub, pygit2.Tree) and isinstance(new_sub, pygit2.Tree)
                stack.append((old_sub, new_sub))
                continue
            for side, is_tree in ((a, a_tree), (b, b_tree)):
                if side is None:
                    continue
                if is_tree:
                    changed += tree_stats(raw, side.id, limits=limits, cache=memo).paths
                elif int(side.filemode) != _GITLINK_MODE:
                    changed += 1
            if changed > stop_after:
                return stop_after + 1
    return changed


def _entries(tree: pygit2.Tree | None, limits: WalkLimits) -> dict[str, pygit2.Object]:
    if tree is None:
        return {}
    if len(tree) > limits.max_entries:
        raise TreeTooLarge(f"a folder holds {len(tree):,} entries (at most {limits.max_entries:,})")
    return {entry.name or "": entry for entry in tree}


def _diff(repo: GitRepo, old_sha: str | None, new_sha: str, context_lines: int) -> pygit2.Diff:
    if count_changed_paths(repo, old_sha, new_sha) > MAX_CHANGED_PATHS:
        raise TreeTooLarge(f"more than {MAX_CHANGED_PATHS:,} paths changed: too large to display")
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

    Sorted by path; TreeTooLarge when more than MAX_CHANGED_PATHS paths changed. With
    `max_patch_bytes`, a file's patch longer than that is returned as
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
