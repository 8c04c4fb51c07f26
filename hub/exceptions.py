"""Domain errors that know their HTTP status and Hugging Face error code.

Services raise these; one handler at the edge (`hub.http.drf.exception_handler` for DRF views,
`hub.http.middleware.HubErrorMiddleware` for plain views) turns them into responses carrying
`X-Error-Code` / `X-Error-Message`, which is all the huggingface_hub client looks at.
"""
from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager


class HubError(Exception):
    status: int = 400
    code: str | None = None
    default_message = "Bad request"

    def __init__(self, message: str | None = None, *, headers: dict[str, str] | None = None) -> None:
        self.message = message or self.default_message
        self.headers = headers or {}
        super().__init__(self.message)


class BadRequest(HubError):
    status = 400
    default_message = "Bad request"


class Unauthorized(HubError):
    status = 401
    default_message = "Invalid credentials in Authorization header"


class Forbidden(HubError):
    status = 403
    default_message = "You don't have the rights to perform this action"


class MethodNotAllowed(HubError):
    """The route exists but not for this method; `allowed` becomes the `Allow` header."""

    status = 405

    def __init__(self, method: str, allowed: str) -> None:
        super().__init__(f"Method {method} not allowed", headers={"Allow": allowed})


class NotFound(HubError):
    status = 404
    default_message = "Not found"


class RepoNotFound(NotFound):
    code = "RepoNotFound"
    default_message = "Repository not found"


class RevisionNotFound(NotFound):
    code = "RevisionNotFound"
    default_message = "Invalid rev id"


class EntryNotFound(NotFound):
    code = "EntryNotFound"
    default_message = "Entry not found"


class GatedRepo(HubError):
    status = 403
    code = "GatedRepo"
    default_message = "Access to this repository is restricted: you must be granted access"


class RepoMoved(HubError):
    """The repository was renamed; `Location` (set by the raiser) names the new URL."""

    status = 307
    default_message = "This repository has moved"


class Conflict(HubError):
    status = 409
    default_message = "Conflict"


class RepoBusy(HubError):
    """The repository's write lock could not be taken in time; the client may retry."""

    status = 409
    default_message = "Another operation is in progress on this repository, please retry"


class PreconditionFailed(HubError):
    status = 412
    default_message = "The branch was updated since you opened this page. Please refresh and try again."


class PayloadTooLarge(HubError):
    status = 413
    default_message = "Payload too large"


class UnsupportedMediaType(HubError):
    status = 415
    default_message = "Unsupported media type"


class RangeNotSatisfiable(HubError):
    status = 416
    default_message = "Requested range not satisfiable"


class Unprocessable(HubError):
    status = 422
    default_message = "Unprocessable entity"


class TooManyRequests(HubError):
    """A rate limit is reached (hub/http/ratelimit.py); `Retry-After` says when to retry."""

    status = 429
    default_message = "Too many requests, please retry later"


class TreeTooLarge(HubError):
    """A repository's tree exceeds the hub's walk limits (paths, depth, folder size, time)."""

    status = 422
    code = "TreeTooLarge"
    default_message = "This repository's file tree is too large to process"


class NotSupported(HubError):
    status = 501
    default_message = "Not implemented by this server"


class ServiceUnavailable(HubError):
    status = 503
    default_message = "Service temporarily unavailable, please retry"


class EncryptionKeyUnavailable(ServiceUnavailable):
    """The master key (or a repository's data key) needed to read or write encrypted objects
    cannot be loaded: missing, malformed, or not the key the data keys were wrapped with.
    The operator must fix the key configuration; serving guessed bytes is never an option."""

    code = "EncryptionKeyUnavailable"
    default_message = ("EncryptionKeyUnavailable: the encryption key of this repository's files is not available "
                       "on the server; the operator must configure HUB_MASTER_KEY or HUB_MASTER_KEY_FILE")


class EncryptedObjectUnreadable(ServiceUnavailable):
    """A stored encrypted object fails authentication (modified, truncated, or not the object
    it claims to be): no byte of it is served."""

    code = "EncryptedObjectUnreadable"
    default_message = "EncryptedObjectUnreadable: a stored file of this repository fails its integrity check"


class InsufficientStorage(HubError):
    """The server's disk (or quota) is full; nothing of the request was kept. Retrying later
    may succeed."""

    status = 507
    default_message = "Insufficient storage: the server is out of disk space, please retry later"


# Out of space, however it is reported: an OSError's errno (ENOSPC, EDQUOT), libgit2's
# messages (pygit2 raises OSError or GitError with no errno, only strerror's text), SQLite's
# SQLITE_FULL and PostgreSQL's disk_full (SQLSTATE 53100), often wrapped in another error.
_OUT_OF_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_OUT_OF_SPACE_TEXTS = ("no space left on device", "disk quota exceeded", "database or disk is full")
_DISK_FULL_SQLSTATE = "53100"


def out_of_space(exc: BaseException) -> bool:
    """Whether `exc`, or an exception it was raised from or while handling, reports that the
    disk (or the user's quota) is full."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _OUT_OF_SPACE_ERRNOS:
            return True
        if getattr(current, "sqlstate", None) == _DISK_FULL_SQLSTATE:
            return True
        # A HubError's message may quote user text; only the system's own errors are read.
        text = "" if isinstance(current, HubError) else str(current).lower()
        if any(t in text for t in _OUT_OF_SPACE_TEXTS):
            return True
        current = current.__cause__ or current.__context__
    return False


@contextmanager
def out_of_space_as_507() -> Iterator[None]:
    """Turn an out-of-space failure of the block into InsufficientStorage (507); every other
    exception passes unchanged. The block's own cleanup (temporary files, locks) must already
    have run when the error leaves it."""
    try:
        yield
    except HubError:
        raise
    except Exception as exc:
        if out_of_space(exc):
            raise InsufficientStorage() from exc
        raise
