"""DRF authentication classes that reuse what the middleware already decided."""
from __future__ import annotations

from typing import Any

from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.request import Request


class HubTokenAuthentication(BaseAuthentication):
    """The token was validated by `TokenAuthenticationMiddleware`; expose it to DRF."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        token = getattr(request._request, "auth_token", None)
        if token is None:
            return None
        return (token.user, token)

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="ModelHub"'


class HubSessionAuthentication(SessionAuthentication):
    """Browser sessions; CSRF is enforced for unsafe methods as usual."""
