"""DRF authentication classes that reuse what the middleware already decided."""
from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
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


# How the OpenAPI schema (hub/http/openapi.py) names these; without them drf-spectacular warns,
# and `check --deploy --fail-level WARNING` fails on its warnings.
class HubTokenScheme(OpenApiAuthenticationExtension):
    target_class = HubTokenAuthentication
    name = "hubToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A user access token (hf_...)"}


class HubSessionScheme(OpenApiAuthenticationExtension):
    target_class = HubSessionAuthentication
    name = "hubSession"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
