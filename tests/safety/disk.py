"""Where a marker lies on disk in plaintext, seen from inside the process while files are open.

Both the files under a directory and this process's open descriptors pointing into it are
read, so an anonymous temporary file (`tempfile.TemporaryFile`: O_TMPFILE or unlinked at
once, invisible in a listing) is caught as well as a named one. Linux only (/proc/self/fd).
"""
from __future__ import annotations

import os
from pathlib import Path


def files_holding(marker: bytes, under: Path | str) -> list[str]:
    """The files under `under` (named, or open here and unlinked) whose bytes contain `marker`."""
    root = os.path.realpath(under)
    found: list[str] = []
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            if _holds(path, marker):
                found.append(path)
    fds = Path("/proc/self/fd")
    for fd in os.listdir(fds):
        try:
            target = os.readlink(fds / fd)
        except OSError:
            continue
        if target.startswith(root + os.sep) and _holds(str(fds / fd), marker):
            found.append(target)
    return found


def _holds(path: str, marker: bytes) -> bool:
    try:
        with open(path, "rb") as f:
            return marker in f.read()
    except OSError:
        return False
