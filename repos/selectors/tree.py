"""Folder listings of a revision (HF `list_repo_tree`), one page at a time."""
from __future__ import annotations

from dataclasses import dataclass

from hub.exceptions import EntryNotFound
from repos.git import errors as git_errors
from repos.git.repository import GitRepo
from repos.selectors.files import RepoEntry, repo_entries

TREE_PAGE_SIZE = 1000
TREE_PAGE_SIZE_EXPANDED = 50  # last-commit lookups make expanded pages expensive


@dataclass(frozen=True)
class TreePage:
    entries: list[RepoEntry]
    next_offset: int | None


def tree_list(*, git: GitRepo, sha: str, path: str, recursive: bool, expand: bool, offset: int = 0,
              limit: int | None = None) -> TreePage:
    """Entries under folder `path` of commit `sha` ("" = root), `limit` from `offset`.

    Recursive listings hold every file and directory at any depth. A missing folder, or a
    path that is a file, raises EntryNotFound with `X-Repo-Commit` (HfFileSystem then lists
    the parent; transformers treats it as "no such optional folder").
    """
    if limit is None:
        limit = TREE_PAGE_SIZE_EXPANDED if expand else TREE_PAGE_SIZE
    try:
        entries = git.list_tree(sha, path, recursive=recursive)
    except (git_errors.EntryNotFound, git_errors.InvalidPath):
        raise EntryNotFound(f"Entry not found: {path!r} at revision {sha}", headers={"X-Repo-Commit": sha}) from None
    page = entries[offset:offset + limit]
    more = offset + limit < len(entries)
    return TreePage(entries=repo_entries(git, page, sha=sha, expand=expand),
                    next_offset=offset + limit if more else None)
