"""Browser uploads: request bodies streamed to disk, never held in memory.

Multi-GB files must never sit in the web process's memory. The upload view installs
`DiskUploadHandler` before the body is parsed, so every file part is written in 64 KiB chunks
to a temporary file under TMP_ROOT (the data disk, not a possibly RAM-backed /tmp); the
service `repos.services.uploads.uploads_stage` takes it from there.
"""
from __future__ import annotations

import os
import tempfile

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler


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
