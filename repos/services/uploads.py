"""Browser uploads: each uploaded file routed to git or to the byte door.

The upload view streams every file part to a temporary file on the data disk
(`repos.views.upload_handlers`); each file then goes where `repos.policy.upload.upload_mode`
says: small text files become regular git blobs; LFS files enter the store through
`repos.objects.ingest_file` (hashed, verified, linked to the repository) and the commit
references them by pointer.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from hub.exceptions import BadRequest
from repos import objects
from repos.git.gitattributes import lfs_patterns
from repos.git.repository import GitRepo
from repos.handles import git_repo
from repos.models import Repository
from repos.policy.upload import BINARY_SAMPLE_SIZE, check_lfs_object_size, upload_mode


class UploadedFile(Protocol):
    """What the service needs of an uploaded file (Django's UploadedFile has it)."""

    size: int | None

    def seek(self, offset: int, whence: int = ..., /) -> int: ...

    def read(self, n: int = ..., /) -> bytes: ...


@dataclass
class StagedFile:
    """A file ready to be committed: regular content, or an LFS object already stored."""

    path: str
    mode: Literal["regular", "lfs"]
    size: int
    data: bytes = b""  # regular files only (at most policy.upload.MAX_REGULAR_FILE_SIZE)
    oid: str = ""  # sha256 of the content, LFS files only


def repo_lfs_patterns(*, git: GitRepo, sha: str) -> list[str]:
    """The LFS patterns of `.gitattributes` at commit `sha` (bounded read)."""
    entry = git.get_entry(sha, ".gitattributes")
    if entry is None or entry.type != "file" or entry.size > 1024 * 1024:
        return []
    return lfs_patterns(git.read_blob(entry.oid).decode("utf-8", errors="replace"))


def uploads_stage(*, repo: Repository, sha: str, paths: Sequence[str],
                  files: Sequence[UploadedFile]) -> list[StagedFile]:
    """Route each uploaded file to git or LFS (by the .gitattributes of commit `sha` and the
    upload policy), storing LFS objects now. The caller has checked write access."""
    patterns = repo_lfs_patterns(git=git_repo(repo), sha=sha)
    staged: list[StagedFile] = []
    for path, f in zip(paths, files, strict=True):
        size = f.size or 0
        f.seek(0)
        sample = f.read(BINARY_SAMPLE_SIZE)
        f.seek(0)
        if upload_mode(path, size, sample, patterns) == "regular":
            staged.append(StagedFile(path=path, mode="regular", size=size, data=f.read()))
            continue
        if message := check_lfs_object_size(size):
            raise BadRequest(message)
        oid = objects.ingest_file(repo=repo, file=f, size=size)  # type: ignore[arg-type]
        staged.append(StagedFile(path=path, mode="lfs", size=size, oid=oid))
    return staged


