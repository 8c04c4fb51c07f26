"""Signed LFS upload URLs.

huggingface_hub PUTs object bytes to ``upload.href`` with no Authorization header, so the URL
itself must carry the permission: an HMAC over exactly what the batch call authorised (which
repository, which object, how large, until when, and for whom: `principal`, so that the upload
can be checked against that principal's access *when it completes*). Changing any of them
invalidates the URL.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re

_SIG_RE = re.compile(r"[0-9a-f]{64}")
# Versioned purpose string: a signature minted for something else with the same secret
# (a future download link, say) can never be replayed as an upload permission.
_PURPOSE = "modelhub-lfs-upload-v1"


def _message(repo_key: str, oid: str, size: int, expires_at: int, principal: str) -> bytes:
    # JSON gives an unambiguous encoding: no choice of repo_key can shift bytes between fields.
    return json.dumps([_PURPOSE, repo_key, oid, size, expires_at, principal], separators=(",", ":")).encode("utf-8")


def sign_upload(secret: bytes, *, repo_key: str, oid: str, size: int, expires_at: int, principal: str = "") -> str:
    """HMAC-SHA256 (hex) authorising one PUT of ``oid``/``size`` into ``repo_key``'s store
    until the unix time ``expires_at``."""
    if not secret:
        raise ValueError("an empty signing secret would make every signature forgeable")
    for name, value in (("size", size), ("expires_at", expires_at)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int")
    return hmac.new(secret, _message(repo_key, oid, size, expires_at, principal), hashlib.sha256).hexdigest()


def verify_upload(
    secret: bytes,
    *,
    repo_key: str,
    oid: str,
    size: int,
    expires_at: int,
    signature: str,
    now: int,
    principal: str = "",
) -> bool:
    """True if ``signature`` was made by ``sign_upload`` for these values and ``now`` is
    before ``expires_at``. ``now`` is passed in so callers and tests control the clock."""
    if not isinstance(signature, str) or _SIG_RE.fullmatch(signature) is None:
        return False
    try:
        expected = sign_upload(secret, repo_key=repo_key, oid=oid, size=size, expires_at=expires_at,
                               principal=principal)
    except (TypeError, ValueError):
        return False
    # Compare first and check expiry after, so timing does not reveal which check failed.
    valid = hmac.compare_digest(expected, signature)
    return valid and now < expires_at
