"""Bounds of every walk over user trees, and the cheap measure of a tree that enforces them.

A tree is a DAG: ten levels of ten entries that all point at one subtree describe 10^10 paths
with eleven objects. Whatever walks paths (an index, a listing, a diff) is bounded here by
`WalkLimits` counted over *paths*, not unique objects, and `tree_stats` measures a tree in
time proportional to its unique objects (memoized per tree id), so a push can be refused
before anything walks it.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pygit2
from pygit2.enums import FileMode

from repos.git.errors import TreeTooLarge

_TREE_MODE = int(FileMode.TREE)
_GITLINK_MODE = int(FileMode.COMMIT)


@dataclass(frozen=True)
class WalkLimits:
    """`max_paths`: files and folders under a tree, counted as paths; `max_depth`: folder
    nesting; `max_entries`: entries of one folder; `seconds`: wall-clock budget of one walk
    (None: unbounded in time). Defaults are far above any real model or dataset repository."""

    max_paths: int = 1_000_000
    max_depth: int = 64
    max_entries: int = 100_000
    seconds: float | None = 30.0


DEFAULT_LIMITS = WalkLimits()


@dataclass(frozen=True)
class TreeStats:
    paths: int  # files and folders below the tree (a folder and its contents both count)
    depth: int  # 0 for a tree holding only files, 1 with a subfolder, ...
    widest: int  # entries of the largest folder

    def problem(self, limits: WalkLimits) -> str | None:
        """Why this tree exceeds `limits` (a sentence for the user), or None."""
        if self.paths > limits.max_paths:
            return f"it holds {self.paths:,} paths (at most {limits.max_paths:,})"
        if self.depth > limits.max_depth:
            return f"its folders nest {self.depth} levels deep (at most {limits.max_depth})"
        if self.widest > limits.max_entries:
            return f"a folder holds {self.widest:,} entries (at most {limits.max_entries:,})"
        return None


class Deadline:
    """A wall-clock budget checked every few hundred steps of a walk."""

    __slots__ = ("_at", "_clock", "_n")

    def __init__(self, seconds: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._at = None if seconds is None else clock() + seconds
        self._n = 0

    def check(self) -> None:
        self._n += 1
        if self._at is not None and self._n % 256 == 0 and self._clock() > self._at:
            raise TreeTooLarge("the walk took too long")


def tree_stats(repo: pygit2.Repository, tree_id: pygit2.Oid | str, *, limits: WalkLimits = DEFAULT_LIMITS,
               cache: dict[str, TreeStats] | None = None) -> TreeStats:
    """Paths, depth and widest folder of a tree, in time linear in its *unique* trees.

    Iterative post-order over tree ids (depth is user controlled: no recursion); counts stop
    growing past `max_paths + 1` (saturate) so a hostile tree cannot make the numbers huge.
    Raises TreeTooLarge only when the walk runs out of time or meets more unique trees than
    `max_paths` (each unique tree is at least one path). `cache` may be shared across calls
    (e.g. every commit of one push).
    """
    memo = cache if cache is not None else {}
    deadline = Deadline(limits.seconds)
    cap = limits.max_paths + 1
    root = str(tree_id)
    stack: list[tuple[str, bool]] = [(root, False)]
    while stack:
        oid, expanded = stack.pop()
        if oid in memo:
            continue
        deadline.check()
        tree = repo[oid]
        if not isinstance(tree, pygit2.Tree):
            raise TreeTooLarge(f"{oid} is not a tree")
        subtrees = dict.fromkeys(str(entry.id) for entry in tree if int(entry.filemode) == _TREE_MODE)
        if not expanded:
            missing = [s for s in subtrees if s not in memo]
            if missing:
                if len(memo) + len(stack) > cap:
                    raise TreeTooLarge(f"more than {limits.max_paths:,} distinct folders")
                stack.append((oid, True))
                stack.extend((s, False) for s in missing)
                continue
        paths = depth = 0
        widest = 0
        count = 0
        for entry in tree:
            mode = int(entry.filemode)
            if mode == _GITLINK_MODE:
                continue
            count += 1
            if mode == _TREE_MODE:
                sub = memo[str(entry.id)]
                paths = min(cap, paths + 1 + sub.paths)
                depth = max(depth, sub.depth + 1)
                widest = max(widest, sub.widest)
            else:
                paths = min(cap, paths + 1)
        memo[oid] = TreeStats(paths=paths, depth=depth, widest=max(widest, count))
    return memo[root]
