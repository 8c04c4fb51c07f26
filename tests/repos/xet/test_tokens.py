from __future__ import annotations

import base64
import json

import pytest

from repos.xet.errors import InvalidCasToken
from repos.xet.tokens import CasTokenClaims, bearer_token, issue_cas_token, token_answer, verify_cas_token

SECRET = b"cas-token-secret"
CLAIMS = CasTokenClaims("model:42", "refs/pr/1", "write", "user:7", True, 2_000_000_000)


def test_round_trip_and_scopes() -> None:
    token = issue_cas_token(SECRET, CLAIMS)
    assert token.isascii() and " " not in token
    assert verify_cas_token(SECRET, token, now=1_999_999_999) == CLAIMS
    assert CLAIMS.allows("read") and CLAIMS.allows("write")
    read = CasTokenClaims("model:42", None, "read", None, False, 10)
    assert read.allows("read") and not read.allows("write")
    assert verify_cas_token(SECRET, issue_cas_token(SECRET, read), now=9) == read


def test_expired_forged_and_garbage_tokens() -> None:
    token = issue_cas_token(SECRET, CLAIMS)
    with pytest.raises(InvalidCasToken):
        verify_cas_token(SECRET, token, now=CLAIMS.expires_at)
    with pytest.raises(InvalidCasToken):
        verify_cas_token(b"other secret", token, now=0)
    payload, sig = token.split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged["repo_key"] = "model:43"
    forged_payload = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    for bad in [f"{forged_payload}.{sig}", "", ".", "a.b.c", "é.é", "x" * 5000, f"{payload}.!!!", f"{payload}."]:
        with pytest.raises(InvalidCasToken):
            verify_cas_token(SECRET, bad, now=0)


def test_signed_but_malformed_claims_are_refused() -> None:
    # A payload signed with the right secret but with a wrong shape must still fail cleanly.
    import hashlib
    import hmac

    for claims in [[1, 2], {"repo_key": 1}, {**CLAIMS.__dict__, "scope": "admin"}]:
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        sig = hmac.new(SECRET, f"modelhub-xet-cas-token-v1.{payload}".encode(), hashlib.sha256).digest()
        token = f"{payload}.{base64.urlsafe_b64encode(sig).rstrip(b'=').decode()}"
        with pytest.raises(InvalidCasToken):
            verify_cas_token(SECRET, token, now=0)


def test_issue_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        issue_cas_token(b"", CLAIMS)
    with pytest.raises(ValueError):
        issue_cas_token(SECRET, CasTokenClaims("r", None, "admin", None, False, 1))  # type: ignore[arg-type]


def test_bearer_header_parsing() -> None:
    assert bearer_token("Bearer abc.def") == "abc.def"
    assert bearer_token("bearer  abc ") == "abc"
    assert bearer_token("Basic abc") is None and bearer_token(None) is None and bearer_token("Bearer ") is None


def test_token_answer_has_body_and_headers() -> None:
    body, headers = token_answer(cas_url="https://hub.test/xet", token="t", expires_at=123)
    assert body == {"casUrl": "https://hub.test/xet", "accessToken": "t", "exp": 123}
    assert headers == {
        "X-Xet-Cas-Url": "https://hub.test/xet",
        "X-Xet-Access-Token": "t",
        "X-Xet-Token-Expiration": "123",
    }
    with pytest.raises(ValueError):
        token_answer(cas_url="https://hub.test/xet/", token="t", expires_at=1)
