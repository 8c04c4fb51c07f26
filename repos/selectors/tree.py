"""Folder listings of a revision (HF `list_repo_tree`), one page at a time."""
from __future__ import annotations

import itertools
from dataclasses import dataclass

from hub.exceptions import EntryNotFound
from repos.git import errors as git_errors
from repos.git.repository import GitRepo
from repos.handles import walk_limits
from repos.selectors.files import RepoEntry, repo_entries

TREE_PAGE_SIZE = 1000
TREE_PAGE_SIZE_EXPANDED = 50  # last-commit lookups make expanded pages expensive


@dataclass(frozen=True)
class TreePage:
    entries: list[RepoEntry]
    # Where the next page starts: an offset in the folder (non-recursive listings) or the last
    # path listed (recursive ones, which seek to it instead of walking what came before).
    next_offset: int | None = None
    next_after: str | None = None


def tree_list(*, git: GitRepo, sha: str, path: str, recursive: bool, expand: bool, offset: int = 0,
              after: str | None = None, limit: int | None = None) -> TreePage:
    """Entries under folder `path` of commit `sha` ("" = root), one page of at most `limit`.

    Non-recursive listings page by `offset` in the folder; recursive ones hold every file and
    directory at any depth and page by `after` (the last path of the previous page), so a page
    costs its own entries whatever its position. Both are bounded by the walk limits
    (TreeTooLarge past them). A missing folder, or a path that is a file, raises EntryNotFound
    with `X-Repo-Commit` (HfFileSystem then lists the parent; transformers treats it as "no
    such optional folder").
    """
    if limit is None:
        limit = TREE_PAGE_SIZE_EXPANDED if expand else TREE_PAGE_SIZE
    limits = walk_limits()
    try:
        if recursive:
            walk = git.walk(sha, path, limits=limits, after=after)
            page = list(itertools.islice(walk, limit + 1))
            more = len(page) > limit
            page = page[:limit]
            return TreePage(entries=repo_entries(git, page, sha=sha, expand=expand),
                            next_after=page[-1].path if more and page else None)
        entries = git.list_tree(sha, path, limits=limits)
    except (git_errors.EntryNotFound, git_errors.InvalidPath):
        raise EntryNotFound(f"Entry not found: {path!r} at revision {sha}", headers={"X-Repo-Commit": sha}) from None
    page = entries[offset:offset + limit]
    more = offset + limit < len(entries)
    return TreePage(entries=repo_entries(git, page, sha=sha, expand=expand),
                    next_offset=offset + limit if more else None)
