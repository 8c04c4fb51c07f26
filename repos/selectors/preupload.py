"""Preupload: how each file of a coming commit must be uploaded (HF_PROTOCOL.md §6.2)."""
from __future__ import annotations

from dataclasses import dataclass

from hub.exceptions import Unprocessable
from repos.git.errors import InvalidPath
from repos.git.gitattributes import lfs_patterns
from repos.git.gitignore import is_ignored
from repos.git.paths import normalize_repo_path
from repos.git.repository import GitRepo
from repos.handles import git_repo
from repos.lfs.pointer import MAX_POINTER_SIZE, parse_pointer
from repos.models import Repository
from repos.policy.upload import UploadMode, upload_mode
from repos.revisions import git_errors_as_http

_MAX_CONFIG_FILE = 1024 * 1024


@dataclass(frozen=True)
class PreuploadFile:
    path: str
    size: int
    sample: bytes


@dataclass(frozen=True)
class PreuploadAnswer:
    path: str  # exactly as the client sent it: the client looks its answers up by path
    upload_mode: UploadMode
    should_ignore: bool
    oid: str | None


def _small_text(git: GitRepo, sha: str, path: str) -> str | None:
    entry = git.get_entry(sha, path)
    if entry is None or entry.type != "file" or entry.size > _MAX_CONFIG_FILE:
        return None
    data = git.read_blob(entry.oid)
    if parse_pointer(data) is not None:
        return None
    return data.decode("utf-8", "replace")


def _current_oid(git: GitRepo, sha: str, path: str) -> str | None:
    """The id the client compares with its local one: sha256 for LFS, git sha1 otherwise."""
    entry = git.get_entry(sha, path)
    if entry is None or entry.type != "file":
        return None
    if entry.size < MAX_POINTER_SIZE:
        pointer = parse_pointer(git.read_blob(entry.oid))
        if pointer is not None:
            return pointer.oid
    return entry.oid


def preupload_info(*, repo: Repository, revision: str, files: list[PreuploadFile],
                   gitignore: str | None = None) -> list[PreuploadAnswer]:
    """Upload mode, ignore flag and current oid of each file at `revision`.

    `gitignore` is the `.gitignore` the commit itself uploads, if any; otherwise the one at
    `revision` applies. Raises RevisionNotFound, and Unprocessable for an invalid path.
    """
    git = git_repo(repo)
    with git_errors_as_http():
        sha = git.resolve(revision)
        patterns = lfs_patterns(_small_text(git, sha, ".gitattributes") or "")
        ignore_text = gitignore if gitignore is not None else (_small_text(git, sha, ".gitignore") or "")
        answers = []
        for item in files:
            try:
                path = normalize_repo_path(item.path)
            except InvalidPath as exc:
                raise Unprocessable(str(exc)) from exc
            answers.append(PreuploadAnswer(
                path=item.path,
                upload_mode=upload_mode(path, item.size, item.sample, patterns),
                should_ignore=is_ignored(path, ignore_text) if ignore_text else False,
                oid=_current_oid(git, sha, path),
            ))
    return answers
