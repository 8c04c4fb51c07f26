"""Browser uploads: request bodies streamed to disk, never held in memory.

Multi-GB files must never sit in the web process's memory. The upload view installs
`DiskUploadHandler` before the body is parsed, so every file part is written in 64 KiB chunks
to a temporary file under TMP_ROOT (the data disk, not a possibly RAM-backed /tmp); the
service `repos.services.uploads.uploads_stage` takes it from there. The temporary file holds
ciphertext only, under a key that lives in this process for this request
(`repos.objects.crypto.spool`): a private file's plaintext never touches the disk.

When the disk fills up while a body is spooled, every temporary file of the request is
removed at once and InsufficientStorage (507) is raised: nothing of the upload stays behind.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler

from hub.exceptions import InsufficientStorage, out_of_space
from repos.objects.crypto.spool import EncryptedSpool


class _DiskUploadedFile(TemporaryUploadedFile):
    """A TemporaryUploadedFile created in TMP_ROOT instead of FILE_UPLOAD_TEMP_DIR, encrypted on disk."""

    def __init__(self, name: str, content_type: str, size: int, charset: str | None,
                 content_type_extra: dict | None = None) -> None:
        _, ext = os.path.splitext(name)
        file = EncryptedSpool(settings.TMP_ROOT, suffix=".upload" + ext[:16])
        UploadedFile.__init__(self, file, name, content_type, size, charset, content_type_extra)


class DiskUploadHandler(TemporaryFileUploadHandler):
    """Every uploaded file goes to disk, whatever its size (no in-memory files)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._spooled: list[_DiskUploadedFile] = []

    def new_file(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super(TemporaryFileUploadHandler, self).new_file(*args, **kwargs)
        with self._disk_full_removes_all():
            self.file = _DiskUploadedFile(self.file_name, self.content_type, 0, self.charset,
                                          self.content_type_extra)
        self._spooled.append(self.file)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        with self._disk_full_removes_all():
            self.file.write(raw_data)

    def file_complete(self, file_size: int) -> UploadedFile:
        with self._disk_full_removes_all():
            return super().file_complete(file_size)  # flushes what is still buffered

    @contextlib.contextmanager
    def _disk_full_removes_all(self) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            if not out_of_space(exc):
                raise
            self.remove_spooled()
            raise InsufficientStorage() from exc

    def remove_spooled(self) -> None:
        """Close and delete every temporary file of this request (closing flushes, which may
        fail again on a full disk: the file is deleted anyway)."""
        for spooled in self._spooled:
            path = spooled.temporary_file_path()
            with contextlib.suppress(OSError):
                spooled.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        self._spooled.clear()
