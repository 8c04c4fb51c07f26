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


class UploadRejected(BadRequest):
    """Files of an upload that the upload policy refuses: `problems` is [(path, reason)], every
    refused file of the upload (not only the first), so that each can be shown by its file."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        if len(problems) == 1:
            super().__init__(f"{problems[0][1]} Offending file: {problems[0][0]}")
        else:
            super().__init__(f"{len(problems)} files cannot be uploaded: "
                             + "; ".join(f"{path}: {reason}" for path, reason in problems))


def uploads_stage(*, repo: Repository, sha: str, paths: Sequence[str],
                  files: Sequence[UploadedFile]) -> list[StagedFile]:
    """Route each uploaded file to git or LFS (by the .gitattributes of commit `sha` and the
    upload policy), storing LFS objects now. Every file is judged before anything is stored:
    UploadRejected names all the refused ones. The caller has checked that the requester may
    commit here or open a pull request."""
    patterns = repo_lfs_patterns(git=git_repo(repo), sha=sha)
    modes: list[Literal["regular", "lfs"]] = []
    problems: list[tuple[str, str]] = []
    for path, f in zip(paths, files, strict=True):
        size = f.size or 0
        f.seek(0)
        sample = f.read(BINARY_SAMPLE_SIZE)
        f.seek(0)
        mode = upload_mode(path, size, sample, patterns)
        modes.append(mode)
        if mode == "lfs" and (message := check_lfs_object_size(size)):
            problems.append((path, message))
    if problems:
        raise UploadRejected(problems)
    staged: list[StagedFile] = []
    for path, f, mode in zip(paths, files, modes, strict=True):
        size = f.size or 0
        f.seek(0)
        if mode == "regular":
            staged.append(StagedFile(path=path, mode="regular", size=size, data=f.read()))
            continue
        oid = objects.ingest_file(repo=repo, file=f, size=size)  # type: ignore[arg-type]
        staged.append(StagedFile(path=path, mode="lfs", size=size, oid=oid))
    return staged
