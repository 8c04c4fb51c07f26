"""CAS access tokens and the xet-token answer (XET.md §2.1, §3.1).

The token returned by ``/api/{type}s/{repo}/xet-{read|write}-token/{rev}`` is opaque to clients;
hf_xet sends it back as ``Authorization: Bearer`` on every CAS call. We make it a signed,
self-contained claim set so the CAS views need no database row to authorise a call:
``base64url(JSON claims) + "." + base64url(HMAC-SHA256)``.

Scopes: ``write`` includes ``read``; only xorb and shard uploads need ``write``. The token is
bound to one repository (``repo_key``, whatever stable id the caller chooses) and the revision it
was issued for, so a token for repository A never reads or registers anything for B.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import asdict, dataclass
from typing import Any, Final, Literal

from .errors import InvalidCasToken

Scope = Literal["read", "write"]
_PURPOSE: Final = "modelhub-xet-cas-token-v1"
_MAX_TOKEN_LEN: Final = 4096
# hf_xet refreshes a token 30 s before it expires and huggingface_hub caches it until 60 s before;
# a shorter life would make every call refresh (XET.md §2.1).
MIN_TOKEN_TTL: Final = 90


@dataclass(frozen=True)
class CasTokenClaims:
    repo_key: str
    revision: str | None
    scope: Scope
    user_key: str | None
    create_pr: bool
    expires_at: int

    def allows(self, scope: Scope) -> bool:
        return self.scope == "write" or scope == "read"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: bytes, payload: str) -> bytes:
    return hmac.new(secret, f"{_PURPOSE}.{payload}".encode("ascii"), hashlib.sha256).digest()


def issue_cas_token(secret: bytes, claims: CasTokenClaims) -> str:
    """Sign ``claims`` into an opaque bearer token."""
    if not secret:
        raise ValueError("an empty signing secret would make every token forgeable")
    if claims.scope not in ("read", "write"):
        raise ValueError("scope is 'read' or 'write'")
    payload = _b64(json.dumps(asdict(claims), separators=(",", ":"), sort_keys=True).encode("utf-8"))
    return f"{payload}.{_b64(_sign(secret, payload))}"


def verify_cas_token(secret: bytes, token: str, *, now: int) -> CasTokenClaims:
    """The claims of a token this hub issued and that has not expired, else ``InvalidCasToken``."""
    if not secret:
        raise ValueError("an empty signing secret would make every token forgeable")
    if not isinstance(token, str) or len(token) > _MAX_TOKEN_LEN or not token.isascii() or token.count(".") != 1:
        raise InvalidCasToken("malformed CAS token")
    payload, sig = token.split(".")
    try:
        sig_raw = _unb64(sig)
    except (binascii.Error, ValueError):
        raise InvalidCasToken("malformed CAS token") from None
    if not hmac.compare_digest(_sign(secret, payload), sig_raw):
        raise InvalidCasToken("CAS token signature is invalid")
    try:
        data: Any = json.loads(_unb64(payload))
        claims = CasTokenClaims(
            repo_key=_str(data["repo_key"]),
            revision=_opt_str(data["revision"]),
            scope=_scope(data["scope"]),
            user_key=_opt_str(data["user_key"]),
            create_pr=bool(data["create_pr"]),
            expires_at=int(data["expires_at"]),
        )
    except (ValueError, KeyError, TypeError):
        raise InvalidCasToken("malformed CAS token") from None
    if now >= claims.expires_at:
        raise InvalidCasToken("CAS token expired")
    return claims


def _str(v: object) -> str:
    if not isinstance(v, str):
        raise TypeError
    return v


def _opt_str(v: object) -> str | None:
    return None if v is None else _str(v)


def _scope(v: object) -> Scope:
    if v == "read":
        return "read"
    if v == "write":
        return "write"
    raise ValueError


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (case-insensitive scheme)."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def token_answer(*, cas_url: str, token: str, expires_at: int) -> tuple[dict[str, Any], dict[str, str]]:
    """JSON body and headers of a xet-token response; both are required (XET.md §2.1).

    hf_xet reads the JSON (``casUrl``, ``accessToken``, ``exp``), huggingface_hub the three
    ``X-Xet-*`` headers. ``cas_url`` must not end with ``/``: clients append ``/v1/...`` to it.
    """
    if cas_url.endswith("/"):
        raise ValueError("casUrl must not end with '/' (clients would request //v1/...)")
    body = {"casUrl": cas_url, "accessToken": token, "exp": expires_at}
    headers = {
        "X-Xet-Cas-Url": cas_url,
        "X-Xet-Access-Token": token,
        "X-Xet-Token-Expiration": str(expires_at),
    }
    return body, headers
