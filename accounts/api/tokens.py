"""Access tokens API (ours): `GET|POST /api/tokens`, `DELETE /api/tokens/{id}`.

Only the token's owner manages it, from a browser session or with a write token. The secret
is in the creation response and nowhere else, ever.

POST body: `{"name", "role": "read"|"write"|"fineGrained", "expiresAt"?: ISO date,
"scopes"?: [{"type": "model"|"dataset"|"space"|"org"|"user", "name": "ns/name"|"org"|"me",
"access": "read"|"write"|"admin"}]}`: `write` covers contents and settings (commits,
branches, tags, pull requests, visibility, gating); `admin` also deleting, renaming and
transferring repositories, collaborators and organization members, rewriting the default
branch's history and audit exports (`accounts.permissions.SCOPE_LEVEL`).
"""
from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.whoami import fine_grained_payload
from accounts.models import AccessToken, TokenScope
from accounts.permissions import can_manage_token, require_signed_in
from accounts.selectors import token_of, tokens_of
from accounts.services.tokens import token_create, token_revoke, token_scope_grant
from hub.exceptions import BadRequest, Forbidden
from hub.http.client import client_ip
from hub.http.dates import hf_date
from hub.http.inputs import validated_input

MAX_SCOPES = 100


def _owner(request: Request) -> Any:
    user, token = require_signed_in(request)
    if not can_manage_token(user, user, token=token):
        raise Forbidden("Managing tokens needs a browser session or a write token")
    return user


def serialize_token(token: AccessToken) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(token.pk), "displayName": token.name, "role": token.role,
        "createdAt": hf_date(token.created_at), "expiresAt": hf_date(token.expires_at),
        "lastUsedAt": hf_date(token.last_used_at), "revoked": token.revoked_at is not None,
        "active": token.is_active,
    }
    if token.role == AccessToken.Role.FINE_GRAINED:
        data["fineGrained"] = fine_grained_payload(token)
    return data


class _ScopeSerializer(serializers.Serializer):
    # "user", "org", or a repository type (checked by `token_scope_grant`).
    type = serializers.CharField(max_length=20)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    access = serializers.ChoiceField(choices=TokenScope.Access.values, default=TokenScope.Access.READ)


class TokenListApi(APIView):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        role = serializers.ChoiceField(choices=AccessToken.Role.values, default=AccessToken.Role.READ)
        expiresAt = serializers.DateTimeField(required=False, allow_null=True)  # noqa: N815 - wire name
        scopes = _ScopeSerializer(many=True, required=False)

    def get(self, request: Request) -> Response:
        user = _owner(request)
        tokens = tokens_of(user)
        return Response([serialize_token(t) for t in tokens])

    def post(self, request: Request) -> Response:
        user = _owner(request)
        data = validated_input(self.InputSerializer, request.data)
        scopes = data.get("scopes") or []
        if len(scopes) > MAX_SCOPES:
            raise BadRequest(f"At most {MAX_SCOPES} scopes")
        grants = [token_scope_grant(user, s) for s in scopes]
        token, key = token_create(user=user, name=data["name"], role=data["role"],
                                  expires_at=data.get("expiresAt"), scopes=grants, ip=client_ip(request))
        # Shown once: the only response that ever carries the secret.
        return Response({**serialize_token(token), "token": key}, status=201)


class TokenApi(APIView):
    def delete(self, request: Request, token_id: str) -> Response:
        user = _owner(request)
        token = token_of(user, token_id)
        token_revoke(token=token, actor=user, ip=client_ip(request))
        return Response({"success": True})
