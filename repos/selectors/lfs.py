"""Reads behind signed LFS URLs, and a repository's large files (`list_lfs_files`)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from repos.git import errors as git_errors
from repos.git.repository import GitRepo
from repos.handles import walk_limits
from repos.models import RepoLfsObject, Repository
from repos.selectors.files import lfs_pointer_of


def repo_by_storage_key(*, key: str) -> Repository | None:
    """The repository a signed LFS URL names (by storage key, stable across renames). No
    permission check: callers hold a signature that is the permission."""
    if len(key) != 32 or any(c not in "0123456789abcdef" for c in key):
        return None
    return Repository.objects.filter(storage_key=key).first()


@dataclass(frozen=True)
class LfsFileRow:
    """One large file of a repository (`list_lfs_files`): its object, size, when it was
    uploaded, and the path it has at the default branch head ("" when no file there points
    to it any more)."""

    oid: str
    size: int
    pushed_at: datetime
    filename: str
    ref: str | None


def lfs_files_of(*, repo: Repository, git: GitRepo, offset: int, limit: int) -> list[LfsFileRow]:
    """The large-file objects linked to `repo`, oldest upload first, one page. Paths come
    from one bounded walk of the default branch head."""
    links = list(RepoLfsObject.objects.filter(repository=repo).select_related("lfs_object")
                 .order_by("created_at", "pk")[offset:offset + limit])
    paths: dict[str, str] = {}
    if links and repo.head_sha:
        try:
            for entry in git.iter_files(repo.head_sha, limits=walk_limits()):
                pointer = lfs_pointer_of(git, entry)
                if pointer is not None:
                    paths.setdefault(pointer.oid, entry.path)
        except git_errors.GitError:
            pass  # past the walk limits: the paths found so far
    return [LfsFileRow(oid=link.lfs_object.oid, size=link.lfs_object.size, pushed_at=link.created_at,
                       filename=paths.get(link.lfs_object.oid, ""),
                       ref=repo.default_branch if link.lfs_object.oid in paths else None)
            for link in links]
