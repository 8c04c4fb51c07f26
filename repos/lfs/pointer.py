"""Git LFS pointer files (spec v1): strict parsing and canonical formatting.

A pointer is the small text blob git stores in place of a large file::

    version https://git-lfs.github.com/spec/v1
    oid sha256:<64 lowercase hex>
    size <bytes>

The parser is deliberately stricter than git-lfs itself (which trims whitespace, accepts
legacy version URLs and extension lines): a blob is treated as a pointer only if it is exactly
in the canonical form that ``format_pointer`` writes. Anything else is an ordinary small blob,
which is the safe reading for both the pre-receive hook (it is then subject to the normal
blob rules) and for downloads (its bytes are served as they are).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SPEC_VERSION = "https://git-lfs.github.com/spec/v1"
# git-lfs never treats a blob of 1024 bytes or more as a pointer (its ``blobSizeCutoff``).
MAX_POINTER_SIZE = 1024

_OID_RE = re.compile(r"[0-9a-f]{64}")
# Canonical integer: no sign, no leading zeros (they would make two different blobs describe
# the same object, and the pointer's git oid is used as the file id in the API).
_SIZE_RE = re.compile(r"0|[1-9][0-9]*")


@dataclass(frozen=True, slots=True)
class LfsPointer:
    """The content of a pointer file: which object, and how large it is."""

    oid: str
    size: int

    def to_bytes(self) -> bytes:
        return format_pointer(self.oid, self.size)


def is_valid_oid(s: object) -> bool:
    """True for a sha256 hex digest in lowercase, the only oid form LFS uses."""
    return isinstance(s, str) and _OID_RE.fullmatch(s) is not None


def parse_pointer(data: bytes) -> LfsPointer | None:
    """Return the pointer described by ``data``, or None if it is not a canonical v1 pointer."""
    if len(data) >= MAX_POINTER_SIZE or not data.endswith(b"\n"):
        return None
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        return None
    # Splitting on "\n" (not splitlines) so that a stray "\r" stays inside a line and fails it.
    lines = text[:-1].split("\n")
    if len(lines) != 3 or lines[0] != f"version {SPEC_VERSION}":
        return None
    # With only oid and size allowed, "keys sorted" reduces to this exact order.
    oid_line, size_line = lines[1], lines[2]
    if not oid_line.startswith("oid sha256:") or not size_line.startswith("size "):
        return None
    oid = oid_line[len("oid sha256:") :]
    size_text = size_line[len("size ") :]
    if not is_valid_oid(oid) or _SIZE_RE.fullmatch(size_text) is None:
        return None
    return LfsPointer(oid=oid, size=int(size_text))


def format_pointer(oid: str, size: int) -> bytes:
    """The canonical pointer blob for an object; byte-exact with what git-lfs writes."""
    if not is_valid_oid(oid):
        raise ValueError(f"invalid LFS oid: {oid!r}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ValueError(f"invalid LFS size: {size!r}")
    return f"version {SPEC_VERSION}\noid sha256:{oid}\nsize {size}\n".encode("ascii")
