"""Exceptions of the LFS layer.

They carry no HTTP knowledge on purpose: the edge (API views, git hooks) maps them to status
codes and HF error codes, so this package stays usable from a pre-receive hook process.
"""

from __future__ import annotations


class LfsError(Exception):
    """Base class for every error raised by ``repos.lfs``."""


class InvalidOid(LfsError, ValueError):
    """An object id is not 64 lowercase hex characters.

    Also a ``ValueError`` because it is, at heart, a bad argument; it matters here because the
    oid becomes a filesystem path and must never be allowed to traverse.
    """


class LfsVerifyError(LfsError):
    """Uploaded bytes do not hash or count to what the client announced.

    The object was not stored; nothing partial is left behind.
    """


class LfsObjectNotFound(LfsError):
    """The store holds no object with this oid."""
