"""Merging two commits: analysis (fast-forward, behind, conflicting files) and merge commits.

libgit2 merges in memory (`merge_commits`): no work tree, no index on disk. Conflicts are the
paths the three-way merge could not resolve; an LFS file changed on both sides conflicts on its
pointer, which is what a human must decide too. Rename detection is libgit2's default.

Every merge here is bounded the way diffs are (`repos.git.diff.count_changed_paths`): a merge
of two trees that differ in more than MAX_CHANGED_PATHS paths is refused as TreeTooLarge
before libgit2 starts, because libgit2 computes the whole merge before returning anything.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pygit2

from repos.git.commit import Signature, _clean_message, _signature
from repos.git.diff import MAX_CHANGED_PATHS, count_changed_paths
from repos.git.errors import MergeConflict, RevisionNotFound, TreeTooLarge
from repos.git.limits import DEFAULT_LIMITS, WalkLimits
from repos.git.repository import GitRepo

# How far `ahead_behind` counts; past it the page says "more than N".
MAX_COUNTED_COMMITS = 10_000


@dataclass(frozen=True)
class MergeAnalysis:
    """What merging `head` into `base` would do.

    `base_in_head`: `base` is an ancestor of `head` (a fast-forward is possible);
    `head_in_base`: nothing to merge (`head` is already in `base`);
    `behind`/`ahead`: commits of `base` missing from `head`, and of `head` missing from `base`;
    `conflicts`: files a merge commit cannot resolve (empty when it can, or when fast-forward).
    """

    base: str
    head: str
    merge_base: str | None
    base_in_head: bool
    head_in_base: bool
    ahead: int
    behind: int
    conflicts: list[str] = field(default_factory=list)

    @property
    def fast_forward(self) -> bool:
        return self.base_in_head and not self.head_in_base

    @property
    def mergeable(self) -> bool:
        return not self.conflicts


def merge_base(repo: GitRepo, a: str, b: str) -> str | None:
    """The best common ancestor of two commits (None for unrelated histories)."""
    ca, cb = repo.get_commit(a), repo.get_commit(b)
    oid = repo.raw.merge_base(ca.id, cb.id)
    return str(oid) if oid is not None else None


def ahead_behind(repo: GitRepo, head: str, base: str) -> tuple[int, int]:
    """(commits in `head` not in `base`, commits in `base` not in `head`)."""
    ch, cb = repo.get_commit(head), repo.get_commit(base)
    ahead, behind = repo.raw.ahead_behind(ch.id, cb.id)
    return min(int(ahead), MAX_COUNTED_COMMITS), min(int(behind), MAX_COUNTED_COMMITS)


def _merged_index(repo: GitRepo, base: str, head: str, limits: WalkLimits) -> pygit2.Index:
    ancestor = merge_base(repo, base, head)
    # Both sides' changes since the merge base are what libgit2 will look at.
    for side in (base, head):
        if count_changed_paths(repo, ancestor, side, limits=limits) > MAX_CHANGED_PATHS:
            raise TreeTooLarge(f"more than {MAX_CHANGED_PATHS:,} paths changed: too large to merge")
    return repo.raw.merge_commits(repo.get_commit(base).id, repo.get_commit(head).id)


def _conflict_paths(index: pygit2.Index) -> list[str]:
    if index.conflicts is None:
        return []
    paths = set()
    for ancestor, ours, theirs in index.conflicts:
        for entry in (ours, theirs, ancestor):
            if entry is not None:
                paths.add(entry.path)
                break
    return sorted(paths)


def analyze_merge(repo: GitRepo, base: str, head: str, *, limits: WalkLimits = DEFAULT_LIMITS) -> MergeAnalysis:
    """Analyze merging commit `head` into commit `base` (both full shas)."""
    ancestor = merge_base(repo, base, head)
    ahead, behind = ahead_behind(repo, head, base)
    base_in_head = repo.is_ancestor(base, head)
    head_in_base = repo.is_ancestor(head, base)
    conflicts: list[str] = []
    if not base_in_head and not head_in_base:
        conflicts = _conflict_paths(_merged_index(repo, base, head, limits))
    return MergeAnalysis(base=base, head=head, merge_base=ancestor, base_in_head=base_in_head,
                         head_in_base=head_in_base, ahead=ahead, behind=behind, conflicts=conflicts)


def build_merge_commit(repo: GitRepo, *, base: str, head: str, author: Signature, message: str,
                       limits: WalkLimits = DEFAULT_LIMITS,
                       clock: Callable[[], float] = time.time) -> str:
    """Write a merge commit of `head` into `base` (parents: base, head) and return its sha.
    Moves no ref. Raises MergeConflict naming the conflicting files, TreeTooLarge, or
    RevisionNotFound for unknown commits."""
    if base == head:
        raise RevisionNotFound("Nothing to merge: both sides are the same commit")
    index = _merged_index(repo, base, head, limits)
    conflicts = _conflict_paths(index)
    if conflicts:
        raise MergeConflict(conflicts)
    tree = index.write_tree(repo.raw)
    when = int(clock())
    oid = repo.raw.create_commit(None, _signature(author, when), _signature(author, when), _clean_message(message),
                                 tree, [repo.get_commit(base).id, repo.get_commit(head).id])
    return str(oid)
