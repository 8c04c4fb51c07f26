"""Which files must go through LFS, and which plain git blobs are refused.

The single source of these rules: preupload (``upload_mode``), the commit API and the git
pre-receive hook (``check_regular_blob``) all call this module, so an upload the API accepts
is exactly one a ``git push`` would accept, and vice versa. Limits mirror the Hub's
(HF_PROTOCOL.md 6.2, 6.10, 10.4).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from repos.git.gitattributes import matches_lfs

MAX_REGULAR_FILE_SIZE = 10 * 1024 * 1024
BINARY_LFS_THRESHOLD = 1024 * 1024
MAX_LFS_FILE_SIZE = 50 * 1000**3
# huggingface_hub sends the first 512 bytes of each file to preupload. Binary detection
# looks at no more than that everywhere, so a file judged "regular" at preupload is not
# judged binary later, at commit or push time, from bytes preupload never saw.
BINARY_SAMPLE_SIZE = 512

UploadMode = Literal["lfs", "regular"]

TOO_LARGE_MESSAGE = (
    "Your push was rejected because it contains files larger than 10 MiB. "
    "Please use https://git-lfs.github.com/ to store large files."
)
BINARY_MESSAGE = (
    "Your push was rejected because it contains binary files larger than 1 MiB. "
    "Please use https://git-lfs.github.com/ to store binary files."
)
LFS_TOO_LARGE_MESSAGE = (
    "Your push was rejected because it contains LFS files larger than 50 GB, the largest file size accepted."
)
MISSING_LFS_OBJECT_MESSAGE = (
    "Your push was rejected because an LFS pointer pointed to a file that does not exist. "
    "For instance, this can happen if you used git push --no-verify to push your changes."
)


def looks_binary(sample: bytes) -> bool:
    """True if ``sample`` (the start of a file) is not text: it holds a NUL byte, or it is
    not UTF-8. A multi-byte character cut off by the end of the sample does not count, since
    samples are taken at arbitrary byte offsets."""
    if b"\0" in sample:
        return True
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # "unexpected end of data" is reported only for an incomplete sequence running
        # into the end of the input; every other failure is a genuinely invalid byte.
        return not (exc.reason == "unexpected end of data" and exc.end == len(sample))
    return False


def upload_mode(path: str, size: int, sample: bytes, lfs_patterns: Sequence[str]) -> UploadMode:
    """How a file of ``size`` bytes starting with ``sample`` must be uploaded, given the LFS
    patterns of the target revision's ``.gitattributes`` (``gitattributes.lfs_patterns``)."""
    if size == 0:
        # Empty files are always plain git blobs (the client forces this as well).
        return "regular"
    if matches_lfs(path, lfs_patterns):
        return "lfs"
    if size > MAX_REGULAR_FILE_SIZE:
        return "lfs"
    if size > BINARY_LFS_THRESHOLD and looks_binary(sample[:BINARY_SAMPLE_SIZE]):
        return "lfs"
    return "regular"


def check_regular_blob(path: str, size: int, sample_or_data: bytes) -> str | None:
    """Why a plain (non-LFS) blob at ``path`` may not be stored, or None if it may.

    ``sample_or_data`` may be the whole content or any prefix of at least
    ``BINARY_SAMPLE_SIZE`` bytes; only that prefix is examined. ``path`` is part of the
    signature so that path-based rules can be added without touching the callers.
    """
    if size > MAX_REGULAR_FILE_SIZE:
        return TOO_LARGE_MESSAGE
    if size > BINARY_LFS_THRESHOLD and looks_binary(sample_or_data[:BINARY_SAMPLE_SIZE]):
        return BINARY_MESSAGE
    return None


def check_lfs_object_size(size: int) -> str | None:
    """Why an LFS object of ``size`` bytes is refused (batch API and push), or None."""
    if size > MAX_LFS_FILE_SIZE:
        return LFS_TOO_LARGE_MESSAGE
    return None


def format_push_rejection(reason: str, offending: Iterable[tuple[str, str]]) -> str:
    """The pre-receive hook's message in the Hub's layout; ``offending`` holds (path, ref)
    pairs. git prefixes every line with ``remote:`` itself."""
    rule = "-" * 73
    lines = [rule, *reason.replace(". ", ".\n").splitlines(), "", "Offending files:"]
    lines.extend(f"  - {path} (ref: {ref})" for path, ref in offending)
    lines.append(rule)
    return "\n".join(lines) + "\n"
