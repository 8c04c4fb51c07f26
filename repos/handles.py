"""Handles on a repository's bare git repo, for services (writes) and request paths (reads).

The bridge between Django settings and the pure git layer.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict

from django.conf import settings

from repos.git.limits import WalkLimits
from repos.git.repository import GitRepo
from repos.models import Repository

# Read handles kept per thread (a libgit2 handle must not be shared between threads). Opening
# a repository is ~15 % of a metadata request's CPU (bench/metadata.py). Reusing one is safe
# for reads: libgit2 reads refs from disk on every lookup and, on an object miss, re-scans
# the pack directory, so commits, pushes and `git gc` by other processes are seen at once.
# The short lifetime bounds how long a handle keeps the mmaps of packs gc has deleted.
READ_HANDLE_TTL_S = 5.0
READ_HANDLES_PER_THREAD = 4
_local = threading.local()


def git_repo(repo: Repository) -> GitRepo:
    """A fresh handle; what writers (services, tasks) use."""
    return GitRepo.open(repo.git_dir)


def git_repo_for_read(repo: Repository) -> GitRepo:
    """A handle reused by this thread for a few seconds, for read-only request paths.

    Keyed by primary key *and* storage key (the directory): a repository deleted and created
    again under the same name (new pk, new directory) never gets the previous one's handle.
    """
    cache: OrderedDict[tuple[int, str, str], tuple[float, GitRepo]] | None = getattr(_local, "handles", None)
    if cache is None:
        cache = _local.handles = OrderedDict()
    key = (repo.pk, repo.storage_key.hex, str(settings.REPOS_ROOT))
    now = time.monotonic()
    # Expired handles go at once: each keeps the repository's pack files open.
    for stale in [k for k, (opened, _git) in cache.items() if now - opened >= READ_HANDLE_TTL_S]:
        del cache[stale]
    hit = cache.get(key)
    if hit is not None:
        cache.move_to_end(key)
        return hit[1]
    git = GitRepo.open(repo.git_dir)
    cache[key] = (now, git)
    cache.move_to_end(key)
    while len(cache) > READ_HANDLES_PER_THREAD:
        cache.popitem(last=False)
    return git


def git_read_handles_clear() -> None:
    """Drop this thread's cached read handles (tests; after deleting a repository)."""
    _local.handles = OrderedDict()


def walk_limits() -> WalkLimits:
    """The bounds of every walk over a repository's trees (settings `HUB_TREE_MAX_PATHS`,
    `HUB_TREE_MAX_DEPTH`, `HUB_TREE_MAX_ENTRIES`, `HUB_WALK_SECONDS`): pushes and commits
    beyond them are refused, reads stop at them and say so."""
    return WalkLimits(max_paths=int(settings.HUB_TREE_MAX_PATHS), max_depth=int(settings.HUB_TREE_MAX_DEPTH),
                      max_entries=int(settings.HUB_TREE_MAX_ENTRIES), seconds=float(settings.HUB_WALK_SECONDS))
