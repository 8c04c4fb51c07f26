"""Domain errors that know their HTTP status and Hugging Face error code.

Services raise these; one handler at the edge (`hub.http.drf.exception_handler` for DRF views,
`hub.http.middleware.HubErrorMiddleware` for plain views) turns them into responses carrying
`X-Error-Code` / `X-Error-Message`, which is all the huggingface_hub client looks at.
"""
from __future__ import annotations


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


class InsufficientStorage(HubError):
    status = 507
    default_message = "Insufficient storage"
