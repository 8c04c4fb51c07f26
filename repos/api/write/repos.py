"""`/api/repos/create|delete|move` and `PUT /api/{T}/{id}/settings` (HF_PROTOCOL.md §3.2-3.5)."""
from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import request_principal, require_signed_in
from hub.exceptions import BadRequest, Conflict, Forbidden
from hub.http.client import client_ip
from hub.http.errors import header_value
from hub.http.inputs import validated_input
from repos.api.patterns import repo_from_api_request
from repos.api.serializers import repo_url, repo_url_for
from repos.gate import can_create_in_namespace, can_move_to, get_repo_or_404
from repos.models import Repository, RepoType
from repos.services.repos import repo_create, repo_delete, repo_move, repo_update_settings


def _visibility(data: dict[str, Any]) -> bool | None:
    """`visibility` (1.x+) or `private` (0.x) as a private flag; None when unspecified."""
    visibility = data.get("visibility")
    if visibility is not None:
        return visibility == "private"
    return data.get("private")


class _RepoTypeField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=RepoType.values, required=False, allow_null=True, **kwargs)


class RepoCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200, trim_whitespace=False)
        organization = serializers.CharField(max_length=200, required=False, allow_null=True, allow_blank=True)
        type = _RepoTypeField()
        visibility = serializers.ChoiceField(choices=["public", "private"], required=False, allow_null=True)
        private = serializers.BooleanField(required=False, allow_null=True)

    def post(self, request: Request) -> Response:
        user, token = require_signed_in(request)
        data = validated_input(self.InputSerializer, request.data)
        namespace = data.get("organization") or user.username
        repo_type = data.get("type") or RepoType.MODEL
        if not can_create_in_namespace(user, namespace, token=token):
            raise Forbidden(f"You don't have the rights to create a repository under the namespace {namespace!r}")
        try:
            repo = repo_create(user=user, namespace=namespace, name=data["name"], repo_type=repo_type,
                               private=bool(_visibility(data)), ip=client_ip(request))
        except Conflict as exc:
            # `create_repo(exist_ok=True)` reads `url` from this 409 (HF_PROTOCOL.md §3.2).
            response = Response({"error": exc.message, "url": repo_url_for(repo_type, namespace, data["name"])},
                                status=409)
            response["X-Error-Message"] = header_value(exc.message)
            return response
        return Response({"url": repo_url(repo), "name": repo.repo_id, "id": f"{repo.pk:024x}"})


def _split_id(value: str, field: str) -> tuple[str, str]:
    parts = value.split("/") if isinstance(value, str) else []
    if len(parts) != 2 or not all(parts):
        raise BadRequest(f"Invalid {field} {value!r}: expected 'namespace/name'")
    return parts[0], parts[1]


class RepoDeleteApi(APIView):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        organization = serializers.CharField(max_length=200, required=False, allow_null=True, allow_blank=True)
        type = _RepoTypeField()

    def delete(self, request: Request) -> Response:
        user, token = require_signed_in(request)
        data = validated_input(self.InputSerializer, request.data)
        repo = get_repo_or_404(user, repo_type=data.get("type") or RepoType.MODEL,
                               namespace=data.get("organization") or user.username, name=data["name"],
                               action="admin", token=token, follow_redirects=False)
        repo_delete(repo=repo, user=user, ip=client_ip(request))
        return Response({"success": True})


class RepoMoveApi(APIView):
    class InputSerializer(serializers.Serializer):
        fromRepo = serializers.CharField(max_length=300)  # noqa: N815 - HF wire names
        toRepo = serializers.CharField(max_length=300)  # noqa: N815
        type = _RepoTypeField()

    def post(self, request: Request) -> Response:
        user, token = require_signed_in(request)
        data = validated_input(self.InputSerializer, request.data)
        from_ns, from_name = _split_id(data["fromRepo"], "fromRepo")
        to_ns, to_name = _split_id(data["toRepo"], "toRepo")
        repo = get_repo_or_404(user, repo_type=data.get("type") or RepoType.MODEL, namespace=from_ns,
                               name=from_name, action="admin", token=token, follow_redirects=False)
        if not can_move_to(user, repo, to_ns, token=token):
            raise Forbidden(f"You don't have the rights to move a repository to the namespace {to_ns!r}")
        repo = repo_move(repo=repo, user=user, namespace=to_ns, name=to_name, ip=client_ip(request))
        return Response({"success": True, "url": repo_url(repo), "name": repo.repo_id})


class _GatedField(serializers.Field):
    """HF sends "auto", "manual" or false."""

    def to_internal_value(self, data: Any) -> str:
        if data is False or data is None:
            return Repository.Gated.NONE
        if data in ("auto", "manual"):
            return str(data)
        raise serializers.ValidationError("must be 'auto', 'manual' or false")


class RepoSettingsApi(APIView):
    class InputSerializer(serializers.Serializer):
        gated = _GatedField(required=False)
        visibility = serializers.ChoiceField(choices=["public", "private"], required=False, allow_null=True)
        private = serializers.BooleanField(required=False, allow_null=True)
        # 0.x sends xetEnabled; ignored (Xet is not offered).

    def put(self, request: Request, plural: str, namespace: str, name: str) -> Response:
        user, _token = request_principal(request)
        repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name, action="settings")
        data = validated_input(self.InputSerializer, request.data)
        repo = repo_update_settings(repo=repo, user=user, private=_visibility(data), gated=data.get("gated"),
                                    ip=client_ip(request))
        return Response({"private": repo.private, "visibility": "private" if repo.private else "public",
                         "gated": repo.gated or False})


__all__ = ["RepoCreateApi", "RepoDeleteApi", "RepoMoveApi", "RepoSettingsApi"]
