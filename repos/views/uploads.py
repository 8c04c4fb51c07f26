"""Browser uploads: request bodies streamed to disk, files routed to git or to the LFS store.

Multi-GB files must never sit in the web process's memory. The upload view installs
`DiskUploadHandler` before the body is parsed, so every file part is written in 64 KiB chunks
to a temporary file under TMP_ROOT (the data disk, not a possibly RAM-backed /tmp). Each file
then goes where `repos.upload_policy.upload_mode` says: small text files become regular git
blobs; LFS files are hashed by streaming the temporary file once, copied into the store by
`LfsStore.write_stream` (which verifies sha256 and size again) and linked to the repository,
and the commit references them by pointer.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler

from hub.exceptions import BadRequest
from repos.git.repository import GitRepo
from repos.gitattributes import lfs_patterns
from repos.models import Repository
from repos.services.lfs import lfs_object_link, lfs_object_upload
from repos.storage import lfs_store
from repos.upload_policy import BINARY_SAMPLE_SIZE, check_lfs_object_size, upload_mode

_HASH_CHUNK = 1024 * 1024


class _DiskUploadedFile(TemporaryUploadedFile):
    """A TemporaryUploadedFile created in TMP_ROOT instead of FILE_UPLOAD_TEMP_DIR."""

    def __init__(self, name: str, content_type: str, size: int, charset: str | None,
                 content_type_extra: dict | None = None) -> None:
        _, ext = os.path.splitext(name)
        file = tempfile.NamedTemporaryFile(suffix=".upload" + ext[:16], dir=settings.TMP_ROOT)
        UploadedFile.__init__(self, file, name, content_type, size, charset, content_type_extra)


class DiskUploadHandler(TemporaryFileUploadHandler):
    """Every uploaded file goes to disk, whatever its size (no in-memory files)."""

    def new_file(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super(TemporaryFileUploadHandler, self).new_file(*args, **kwargs)
        self.file = _DiskUploadedFile(self.file_name, self.content_type, 0, self.charset,
                                      self.content_type_extra)


@dataclass
class StagedFile:
    """A file ready to be committed: regular content, or an LFS object already stored."""

    path: str
    mode: Literal["regular", "lfs"]
    size: int
    data: bytes = b""  # regular files only (at most upload_policy.MAX_REGULAR_FILE_SIZE)
    oid: str = ""  # sha256 of the content, LFS files only


def repo_lfs_patterns(*, git: GitRepo, sha: str) -> list[str]:
    entry = git.get_entry(sha, ".gitattributes")
    if entry is None or entry.type != "file" or entry.size > 1024 * 1024:
        return []
    return lfs_patterns(git.read_blob(entry.oid).decode("utf-8", errors="replace"))


def _sha256(f: UploadedFile) -> str:
    digest = hashlib.sha256()
    f.seek(0)
    while chunk := f.read(_HASH_CHUNK):
        digest.update(chunk)
    f.seek(0)
    return digest.hexdigest()


def stage_uploads(*, repo: Repository, git: GitRepo, sha: str, paths: Sequence[str],
                  files: Sequence[UploadedFile]) -> list[StagedFile]:
    """Route each uploaded file to git or LFS (by the target revision's .gitattributes and the
    upload policy), storing LFS objects now. The caller has checked write access."""
    patterns = repo_lfs_patterns(git=git, sha=sha)
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
        oid = _sha256(f)
        if lfs_store().exists(oid):
            # We hashed these very bytes ourselves: nothing more to prove, nothing to copy.
            lfs_object_link(repo=repo, oid=oid, size=size)
        else:
            lfs_object_upload(repo=repo, oid=oid, size=size, source=f)
        staged.append(StagedFile(path=path, mode="lfs", size=size, oid=oid))
    return staged
