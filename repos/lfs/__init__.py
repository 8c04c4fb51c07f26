"""Git LFS: pointer files, the batch protocol and signed upload URLs (the object store itself
is the byte door, `repos.objects`).

No Django here; views and services wire these to storage settings and permissions.
"""

from repos.lfs.batch import (
    BatchError,
    BatchObject,
    BatchRequest,
    LfsAction,
    batch_response,
    object_actions,
    object_error,
    parse_batch_request,
    select_transfer,
)
from repos.lfs.errors import InvalidOid, LfsError, LfsObjectNotFound, LfsVerifyError
from repos.lfs.pointer import LfsPointer, format_pointer, is_valid_oid, parse_pointer
from repos.lfs.signing import sign_upload, verify_upload

__all__ = [
    "BatchError",
    "BatchObject",
    "BatchRequest",
    "InvalidOid",
    "LfsAction",
    "LfsError",
    "LfsObjectNotFound",
    "LfsPointer",
    "LfsVerifyError",
    "batch_response",
    "format_pointer",
    "is_valid_oid",
    "object_actions",
    "object_error",
    "parse_batch_request",
    "parse_pointer",
    "select_transfer",
    "sign_upload",
    "verify_upload",
]
