"""Personal-data API of a dataset (ours, not the Hub's; in the OpenAPI schema):

* `GET  /api/{T}/{id}/personal-data[?revision=]`: the report per file and column (readers;
  masked examples for writers only, `safety.dataset_selectors`);
* `PUT  /api/{T}/{id}/personal-data/settings`: `{"requireCleanReport": bool}` (repo admins);
* `POST /api/{T}/{id}/personal-data/redact`: `{"mode": "mask"|"pseudonym", "revision": branch}`
  queues a redaction job that opens a pull request (repo admins); 202 with the job;
* `GET  /api/{T}/{id}/personal-data/redactions/{job}`: the job's state and pull request.
"""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import request_principal, require_signed_in
from hub.exceptions import NotFound
from hub.http.client import client_ip
from hub.http.inputs import validated_input
from repos.api.patterns import repo_from_api_request
from repos.gate import can_write
from safety.dataset_redaction import redaction_of, redaction_request
from safety.dataset_reports import privacy_settings_update
from safety.dataset_selectors import personal_data_overview, redaction_view


class PersonalDataReportApi(APIView):
    """`GET /api/{T}/{id}/personal-data`: the personal-data report of a revision."""

    @extend_schema(summary="The personal-data report of a revision, per file and column",
                   parameters=[OpenApiParameter("revision", OpenApiTypes.STR, required=False,
                                                description="branch, tag or commit (default: the default branch)")],
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, plural: str, namespace: str, name: str) -> Response:
        repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name, action="read")
        user, token = request_principal(request)
        revision = request.query_params.get("revision") or None
        return Response(personal_data_overview(repo=repo, revision=revision,
                                               examples=can_write(user, repo, token=token)))


class PersonalDataSettingsApi(APIView):
    """`PUT /api/{T}/{id}/personal-data/settings` (repo admins)."""

    @extend_schema_serializer(component_name="PersonalDataSettingsInput")
    class InputSerializer(serializers.Serializer):
        requireCleanReport = serializers.BooleanField()  # noqa: N815 - the JSON field's name

    @extend_schema(summary="Require a clean personal-data report before going public", request=InputSerializer,
                   responses={200: OpenApiTypes.OBJECT})
    def put(self, request: Request, plural: str, namespace: str, name: str) -> Response:
        repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name, action="settings")
        data = validated_input(self.InputSerializer, request.data)
        user, _token = require_signed_in(request)
        privacy = privacy_settings_update(repo=repo, require_clean=data["requireCleanReport"], actor=user,
                                          ip=client_ip(request))
        return Response({"requireCleanReport": privacy.require_clean_report})


class PersonalDataRedactApi(APIView):
    """`POST /api/{T}/{id}/personal-data/redact` (repo admins): 202 and the queued job."""

    @extend_schema_serializer(component_name="PersonalDataRedactInput")
    class InputSerializer(serializers.Serializer):
        mode = serializers.ChoiceField(choices=["mask", "pseudonym"], default="mask")
        revision = serializers.CharField(max_length=255, required=False)

    @extend_schema(summary="Open a redaction pull request (a queued job)", request=InputSerializer,
                   responses={202: OpenApiTypes.OBJECT})
    def post(self, request: Request, plural: str, namespace: str, name: str) -> Response:
        repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name, action="settings")
        data = validated_input(self.InputSerializer, request.data)
        user, _token = require_signed_in(request)
        redaction = redaction_request(repo=repo, user=user, mode=data["mode"], revision=data.get("revision"),
                                      ip=client_ip(request))
        return Response(redaction_view(redaction), status=202)


class PersonalDataRedactionApi(APIView):
    """`GET /api/{T}/{id}/personal-data/redactions/{job}` (repo admins)."""

    @extend_schema(summary="A redaction job: its state and pull request", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, plural: str, namespace: str, name: str, redaction_id: str) -> Response:
        repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name, action="settings")
        redaction = redaction_of(repo=repo, redaction_id=int(redaction_id))
        if redaction is None:
            raise NotFound(f"Redaction {redaction_id} not found")
        return Response(redaction_view(redaction))
