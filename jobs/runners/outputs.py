"""Checking what a run left in its output directory.

Job outputs are untrusted input (SECURITY.md T54): code running in the job may have been
hijacked by a hostile model or dataset. Both the runner (before it returns) and the parent
process (after the child exited) walk the output directory with these rules: regular files
only, no symlinks or devices, bounded depth, count and total size, optionally only expected
names. The walk never follows links, so it cannot be pointed outside the directory.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from jobs.runners.base import RunnerError


class OutputError(RunnerError):
    kind = "output"


@dataclass(frozen=True, slots=True)
class OutputFile:
    path: str  # relative, "/"-separated
    size: int


def scan_output_dir(
    root: Path,
    *,
    max_files: int = 64,
    max_total_bytes: int = 8 * 1024**3,
    max_depth: int = 4,
    allowed: Callable[[str], bool] | None = None,
) -> tuple[OutputFile, ...]:
    """List the files under ``root``, sorted by path, or raise ``OutputError`` naming the first
    rule broken. ``allowed(relative_path)`` restricts names when the caller knows them."""
    found: list[OutputFile] = []
    total = 0

    def walk(directory: Path, prefix: str, depth: int) -> None:
        nonlocal total
        if depth > max_depth:
            raise OutputError(f"The output nests directories deeper than {max_depth} levels")
        with os.scandir(directory) as entries:
            for entry in entries:
                rel = f"{prefix}{entry.name}"
                mode = entry.stat(follow_symlinks=False).st_mode
                if stat.S_ISDIR(mode):
                    walk(Path(entry.path), f"{rel}/", depth + 1)
                    continue
                if not stat.S_ISREG(mode):
                    raise OutputError(f"The output contains {rel!r}, which is not a regular file (links are refused)")
                if allowed is not None and not allowed(rel):
                    raise OutputError(f"The output contains an unexpected file {rel!r}")
                size = entry.stat(follow_symlinks=False).st_size
                total += size
                found.append(OutputFile(path=rel, size=size))
                if len(found) > max_files:
                    raise OutputError(f"The output contains more than {max_files} files")
                if total > max_total_bytes:
                    raise OutputError(f"The output is larger than {max_total_bytes} bytes")

    if not root.is_dir() or root.is_symlink():
        raise OutputError("The output directory is missing")
    walk(root, "", 0)
    return tuple(sorted(found, key=lambda f: f.path))
