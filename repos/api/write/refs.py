"""Branches, tags and super-squash (HF_PROTOCOL.md §4.5, §4.6)."""
from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import request_principal
from hub.exceptions import BadRequest
from hub.http.client import client_ip
from repos.api.patterns import repo_from_api_request
from repos.services.refs import branch_create, branch_delete, super_squash, tag_create, tag_delete


def _body(request: Request, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
    # Some clients send these POSTs with no body (and so no content type) at all.
    empty = request._request.META.get("CONTENT_LENGTH") in (None, "", "0")
    data = {} if empty else request.data
    if data is None or (hasattr(data, "keys") and not data):
        data = {}
    if not isinstance(data, dict):
        raise BadRequest("Expected a JSON object")
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class BranchApi(APIView):
    class CreateSerializer(serializers.Serializer):
        startingPoint = serializers.CharField(required=False, allow_null=True, max_length=1024)  # noqa: N815

    def post(self, request: Request, plural: str, namespace: str, name: str, rev: str) -> Response:
        user, token = request_principal(request)
        repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name, action="write")
        data = _body(request, self.CreateSerializer)
        sha = branch_create(repo=repo, user=user, branch=rev, starting_point=data.get("startingPoint"), token=token,
                            ip=client_ip(request))
        return Response({"success": True, "name": rev, "ref": f"refs/heads/{rev}", "targetCommit": sha})

    def delete(self, request: Request, plural: str, namespace: str, name: str, rev: str) -> Response:
        user, token = request_principal(request)
        repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name, action="write")
        branch_delete(repo=repo, user=user, branch=rev, token=token, ip=client_ip(request))
        return Response({"success": True})


class TagApi(APIView):
    """POST tags the revision in the path (tag name in the body); DELETE removes the tag in
    the path."""

    class CreateSerializer(serializers.Serializer):
        tag = serializers.CharField(max_length=1024, trim_whitespace=False)
        message = serializers.CharField(required=False, allow_null=True, allow_blank=True, trim_whitespace=False,
                                        max_length=64 * 1024)

    def post(self, request: Request, plural: str, namespace: str, name: str, rev: str) -> Response:
        user, token = request_principal(request)
        repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name, action="write")
        data = _body(request, self.CreateSerializer)
        sha = tag_create(repo=repo, user=user, revision=rev, tag=data["tag"], message=data.get("message"),
                         token=token, ip=client_ip(request))
        return Response({"success": True, "name": data["tag"], "ref": f"refs/tags/{data['tag']}",
                         "targetCommit": sha})

    def delete(self, request: Request, plural: str, namespace: str, name: str, rev: str) -> Response:
        user, token = request_principal(request)
        repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name, action="write")
        tag_delete(repo=repo, user=user, tag=rev, token=token, ip=client_ip(request))
        return Response({"success": True})


class SuperSquashApi(APIView):
    class InputSerializer(serializers.Serializer):
        message = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=64 * 1024)

    def post(self, request: Request, plural: str, namespace: str, name: str, rev: str) -> Response:
        user, token = request_principal(request)
        repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name, action="write")
        data = _body(request, self.InputSerializer)
        sha = super_squash(repo=repo, user=user, branch=rev, message=data.get("message") or "", token=token,
                           ip=client_ip(request))
        return Response({"success": True, "commitOid": sha})
