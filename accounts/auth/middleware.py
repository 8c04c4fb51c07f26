"""Authenticate `Authorization: Bearer <token>` and `Basic <user>:<token>` on every request.

One place for token auth means the API, /resolve/, git smart HTTP and LFS all treat a token
the same way. An Authorization header that does not hold a valid token is an error (401), not
a silent fall-back to anonymous: a client with a revoked token must learn it. An address whose
bad tokens reach the `auth_failure` rate limit (hub/http/ratelimit.py) gets 429 until its
window ends, before any token lookup. Paths under
`settings.TOKEN_AUTH_EXEMPT_PREFIXES` (the Xet CAS) carry another credential in that header and
authenticate it themselves.
"""
from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from accounts.services.tokens import token_authenticate
from hub.http import ratelimit
from hub.http.client import client_ip
from hub.http.errors import error_response, hub_error_response

INVALID_CREDENTIALS = "Invalid credentials in Authorization header"


def token_from_header(header: str) -> str | None:
    """The token in an Authorization header value, or None if the header has none."""
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    value = value.strip()
    if scheme == "bearer":
        return value
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return ""
        _user, _, password = decoded.partition(":")
        return password
    return None


class TokenAuthenticationMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.auth_token = None  # type: ignore[attr-defined]
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header and not request.path.startswith(tuple(getattr(settings, "TOKEN_AUTH_EXEMPT_PREFIXES", ()))):
            key = token_from_header(header)
            if key is not None:
                # An address that sent too many bad tokens lately is refused before any lookup
                # (429 until its window ends), whatever it sends now.
                address = f"ip:{client_ip(request) or '-'}"
                state = ratelimit.peek("auth_failure", address)
                if state is not None and state.used >= state.limit.count:
                    return hub_error_response(state.error(), request)
                token = token_authenticate(key)
                if token is None:
                    ratelimit.count("auth_failure", address)
                    return error_response(401, INVALID_CREDENTIALS, request=request,
                                          headers={"WWW-Authenticate": 'Basic realm="ModelHub"'})
                request.user = token.user
                request.auth_token = token  # type: ignore[attr-defined]
                # Token requests are not browser sessions: no CSRF to protect against.
                request._dont_enforce_csrf_checks = True  # type: ignore[attr-defined]
        return self.get_response(request)
