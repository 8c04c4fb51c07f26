"""Preupload and commit (HF_PROTOCOL.md §6.2, §6.5, §6.7)."""
from __future__ import annotations

import base64
import binascii
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import require_signed_in
from hub.exceptions import MethodNotAllowed, UnsupportedMediaType
from hub.http.api import enforce_session_csrf
from hub.http.client import client_ip
from hub.http.inputs import query_bool
from hub.http.openapi import document
from repos.api.commit_parser import parse_commit_payload, request_stream
from repos.api.patterns import repo_from_api_request
from repos.api.serializers import repo_url
from repos.policy.push import commit_target_check
from repos.policy.upload import BINARY_SAMPLE_SIZE
from repos.selectors.preupload import PreuploadFile, preupload_info
from repos.services.commits import commit_create
from repos.transport.bodies import body_length

MAX_PREUPLOAD_FILES = 1000
NDJSON = "application/x-ndjson"


class _SampleField(serializers.Field):
    def to_internal_value(self, data: Any) -> bytes:
        if data is None:
            return b""
        if not isinstance(data, str):
            raise serializers.ValidationError("must be a base64 string")
        try:
            # Only the start matters for binary detection; bound the work on odd inputs.
            return base64.b64decode(data[: 4 * ((BINARY_SAMPLE_SIZE + 2) // 3) + 4], validate=False)
        except (binascii.Error, ValueError) as exc:
            raise serializers.ValidationError("invalid base64") from exc


class PreuploadApi(APIView):
    class FileSerializer(serializers.Serializer):
        path = serializers.CharField(max_length=8192, trim_whitespace=False)
        size = serializers.IntegerField(min_value=0)
        sample = _SampleField(required=False)

    class InputSerializer(serializers.Serializer):
        files = serializers.ListField(max_length=MAX_PREUPLOAD_FILES)
        gitIgnore = serializers.CharField(required=False, allow_null=True, allow_blank=True,  # noqa: N815
                                          trim_whitespace=False, max_length=1024 * 1024)

    def post(self, request: Request, plural: str, namespace: str, name: str, rev: str) -> Response:
        user, token = require_signed_in(request)
        repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name)
        commit_target_check(repo=repo, user=user, token=token, revision=rev,
                            create_pr=query_bool(request.query_params.get("create_pr")))
        data = request.data if isinstance(request.data, dict) else {}
        payload = self.InputSerializer(data=data)
        payload.is_valid(raise_exception=True)
        files_in = self.FileSerializer(data=payload.validated_data["files"], many=True)
        files_in.is_valid(raise_exception=True)
        files = [PreuploadFile(path=f["path"], size=f["size"], sample=f.get("sample", b""))
                 for f in files_in.validated_data]
        answers = preupload_info(repo=repo, revision=rev, files=files,
                                 gitignore=payload.validated_data.get("gitIgnore"))
        return Response({"files": [
            {"path": a.path, "uploadMode": a.upload_mode, "shouldIgnore": a.should_ignore, "oid": a.oid}
            for a in answers
        ]})


@document("POST", body="application/x-ndjson", query=("create_pr",))
@csrf_exempt
def commit_view(request: HttpRequest, plural: str, namespace: str, name: str, rev: str) -> JsonResponse:
    """NDJSON commit, streamed from the request (a plain view: DRF would buffer the body)."""
    if request.method != "POST":
        raise MethodNotAllowed(str(request.method), "POST")
    enforce_session_csrf(request)
    user, token = require_signed_in(request)
    repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name)
    create_pr = query_bool(request.GET.get("create_pr"))
    commit_target_check(repo=repo, user=user, token=token, revision=rev, create_pr=create_pr)
    if request.content_type != NDJSON and body_length(request) != 0:
        # Every huggingface_hub version (0.x included) sends this type; anything else is not
        # a commit payload (a form or text a browser could send cross-site without preflight).
        # An empty body has no type to judge: it is refused as an empty payload (400).
        raise UnsupportedMediaType(f"Expected Content-Type {NDJSON}")
    header, operations = parse_commit_payload(request_stream(request))
    result = commit_create(repo=repo, user=user, revision=rev, header=header, operations=operations,
                           create_pr=create_pr, token=token, origin="api", ip=client_ip(request))
    base = repo_url(repo)
    body: dict[str, Any] = {"success": True, "commitOid": result.sha, "commitUrl": f"{base}/commit/{result.sha}",
                            "commitMessage": header.summary}
    if result.pull_request is not None:
        body["pullRequestUrl"] = f"{base}/discussions/{result.pull_request.num}"
    return JsonResponse(body)
