"""Access control API on one repository: collaborators, gated-access requests, audit log.

Gated access uses the Hub's routes and shapes (huggingface_hub `list_pending_access_requests`,
`accept_access_request`, `reject_access_request`, `cancel_access_request`, `grant_access`);
`ask-access` is the form the repo page posts. Collaborators and the audit export are ours.
"""
from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.audit import audit_export
from accounts.models import User
from accounts.permissions import require_signed_in
from accounts.selectors import user_by_name
from accounts.services.audit import audit
from hub.exceptions import BadRequest
from hub.http.client import client_ip
from hub.http.dates import hf_date
from hub.http.inputs import validated_input
from repos.api.patterns import repo_from_api_request
from repos.models import AccessRequest, Repository
from repos.selectors.access import access_request_by_id, access_request_list, audit_events_for_repo, collaborator_list
from repos.services.access import (
    access_request_create,
    access_request_decide,
    access_request_grant,
    collaborator_remove,
    collaborator_set,
)

# --------------------------------------------------------------------------- collaborators


def _serialize_collaborators(repo: Repository) -> list[dict[str, str]]:
    return [{"user": c.user.username, "fullname": c.user.fullname or c.user.username, "role": c.role}
            for c in collaborator_list(repo=repo)]


class CollaboratorListApi(APIView):
    """`GET|POST /api/{T}/{id}/collaborators` (repo admins)."""

    class InputSerializer(serializers.Serializer):
        user = serializers.CharField(max_length=150)
        role = serializers.ChoiceField(choices=["read", "write", "admin"])

    def get(self, request: Request, plural: str, namespace: str, name: str) -> Response:
        repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name, action="admin")
        return Response(_serialize_collaborators(repo))

    def post(self, request: Request, plural: str, namespace: str, name: str) -> Response:
        repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name, action="admin")
        data = validated_input(self.InputSerializer, request.data)
        collaborator_set(repo=repo, user=user_by_name(data["user"]), role=data["role"], actor=request.user,
                         ip=client_ip(request))
        return Response(_serialize_collaborators(repo))


class CollaboratorApi(APIView):
    """`PUT|DELETE /api/{T}/{id}/collaborators/{user}` (repo admins)."""

    class InputSerializer(serializers.Serializer):
        role = serializers.ChoiceField(choices=["read", "write", "admin"])

    def put(self, request: Request, plural: str, namespace: str, name: str, username: str) -> Response:
        repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name, action="admin")
        data = validated_input(self.InputSerializer, request.data)
        collaborator_set(repo=repo, user=user_by_name(username), role=data["role"], actor=request.user,
                         ip=client_ip(request))
        return Response(_serialize_collaborators(repo))

    def delete(self, request: Request, plural: str, namespace: str, name: str, username: str) -> Response:
        repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name, action="admin")
        collaborator_remove(repo=repo, user=user_by_name(username), actor=request.user, ip=client_ip(request))
        return Response(_serialize_collaborators(repo))


# --------------------------------------------------------------------------- gated access


def serialize_access_request(access: AccessRequest) -> dict[str, Any]:
    user = access.user
    return {
        "user": {"user": user.username, "fullname": user.fullname or user.username, "email": user.email or None},
        "requestId": str(access.pk),
        "status": access.status,
        "timestamp": hf_date(access.created_at),
        "fields": access.fields or None,
    }


class AskAccessApi(APIView):
    """`POST /api/{T}/{id}/ask-access`: the gate form (any signed-in user who can see the repo)."""

    def post(self, request: Request, plural: str, namespace: str, name: str) -> Response:
        user, _token = require_signed_in(request)
        repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name)
        data = request.data
        fields = data.get("fields", None) if hasattr(data, "get") else None
        if fields is None and hasattr(data, "items"):
            fields = {k: v for k, v in data.items() if k != "csrfmiddlewaretoken"}
        access = access_request_create(repo=repo, user=user, fields=fields, ip=client_ip(request))
        return Response({"status": access.status})


class AccessRequestListApi(APIView):
    """`GET /api/{T}/{id}/user-access-request/{pending|accepted|rejected}` (repo writers)."""

    def get(self, request: Request, plural: str, namespace: str, name: str, status: str) -> Response:
        repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name, action="write")
        if not repo.gated:
            raise BadRequest("This repository is not gated")
        return Response([serialize_access_request(a) for a in access_request_list(repo=repo, status=status)])


def _request_user(repo: Repository, data: dict[str, Any]) -> User:
    if data.get("user"):
        return user_by_name(data["user"])
    return access_request_by_id(repo=repo, request_id=str(data.get("requestId") or "")).user


class AccessRequestHandleApi(APIView):
    """`POST /api/{T}/{id}/user-access-request/handle` `{"user"|"requestId", "status", "rejectionReason"}`."""

    class InputSerializer(serializers.Serializer):
        user = serializers.CharField(max_length=150, required=False)
        requestId = serializers.CharField(max_length=40, required=False)  # noqa: N815 - HF wire name
        status = serializers.ChoiceField(choices=AccessRequest.Status.values)
        rejectionReason = serializers.CharField(max_length=500, required=False, allow_blank=True)  # noqa: N815

    def post(self, request: Request, plural: str, namespace: str, name: str) -> Response:
        repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name, action="write")
        data = validated_input(self.InputSerializer, request.data)
        user = _request_user(repo, data)
        access = access_request_decide(repo=repo, user=user, status=data["status"], actor=request.user,
                                       reason=data.get("rejectionReason", ""), ip=client_ip(request))
        return Response(serialize_access_request(access))


class AccessRequestGrantApi(APIView):
    """`POST /api/{T}/{id}/user-access-request/grant` `{"user"}`."""

    class InputSerializer(serializers.Serializer):
        user = serializers.CharField(max_length=150)

    def post(self, request: Request, plural: str, namespace: str, name: str) -> Response:
        repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name, action="write")
        data = validated_input(self.InputSerializer, request.data)
        access = access_request_grant(repo=repo, user=user_by_name(data["user"]), actor=request.user,
                                      ip=client_ip(request))
        return Response(serialize_access_request(access))


# --------------------------------------------------------------------------- audit


class RepoAuditApi(APIView):
    """`GET /api/{T}/{id}/audit`: the repository's audit log as a JSON export (repo admins)."""

    def get(self, request: Request, plural: str, namespace: str, name: str) -> HttpResponse:
        repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name, action="admin")
        events = list(audit_events_for_repo(repo=repo))
        audit(action="repo.audit_log.export", actor=request.user, target=str(repo), ip=client_ip(request))
        return audit_export(events, filename=f"{repo.namespace}-{repo.name}-audit.json")
