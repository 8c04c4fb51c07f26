"""Organizations API (ours): create and list organizations, manage members, export the audit log.

`POST|GET /api/organizations`, `GET|POST /api/organizations/{org}/members`,
`PUT|DELETE /api/organizations/{org}/members/{user}`, `GET /api/organizations/{org}/audit`.
"""
from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.audit import audit_export
from accounts.models import Membership, Organization
from accounts.permissions import can_admin_org, can_create_organization, can_see_org_members, require_signed_in
from accounts.selectors import audit_events_for_org, org_members, organization_by_name, organization_list, user_by_name
from accounts.services.audit import audit
from accounts.services.orgs import membership_add, membership_remove, membership_update, org_create
from hub.exceptions import Forbidden
from hub.http.client import client_ip
from hub.http.inputs import validated_input
from hub.http.urls import public_url

_ROLES = Membership.Role.values




def _serialize_org(org: Organization) -> dict[str, Any]:
    return {"type": "org", "name": org.name, "fullname": org.fullname or org.name, "url": public_url(org.name)}


def _serialize_members(org: Organization) -> list[dict[str, Any]]:
    members = org_members(org)
    return [{"user": m.user.username, "fullname": m.user.fullname or m.user.username, "role": m.role}
            for m in members]


class OrganizationListApi(APIView):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=96)
        fullname = serializers.CharField(max_length=150, required=False, allow_blank=True)

    def get(self, request: Request) -> Response:
        """Organization names are public, like user names."""
        return Response([_serialize_org(o) for o in organization_list()])

    def post(self, request: Request) -> Response:
        user, token = require_signed_in(request)
        if not can_create_organization(user, token=token):
            raise Forbidden("Creating an organization needs a write token")
        data = validated_input(self.InputSerializer, request.data)
        org = org_create(user=user, name=data["name"], fullname=data.get("fullname", ""), ip=client_ip(request))
        return Response(_serialize_org(org))


class MemberListApi(APIView):
    class InputSerializer(serializers.Serializer):
        user = serializers.CharField(max_length=150)
        role = serializers.ChoiceField(choices=_ROLES, default=Membership.Role.READ)

    def get(self, request: Request, org: str) -> Response:
        user, token = require_signed_in(request)
        organization = organization_by_name(org)
        if not can_see_org_members(user, organization, token=token):
            raise Forbidden("Only members can list the members of this organization")
        return Response(_serialize_members(organization))

    def post(self, request: Request, org: str) -> Response:
        user, token = require_signed_in(request)
        organization = organization_by_name(org)
        if not can_admin_org(user, organization, token=token):
            raise Forbidden("Only admins of this organization can manage its members")
        data = validated_input(self.InputSerializer, request.data)
        membership_add(org=organization, user=user_by_name(data["user"]), role=data["role"], actor=user,
                       ip=client_ip(request))
        return Response(_serialize_members(organization))


class MemberApi(APIView):
    class InputSerializer(serializers.Serializer):
        role = serializers.ChoiceField(choices=_ROLES)

    def _authorize(self, request: Request, org: str) -> tuple[Any, Organization]:
        user, token = require_signed_in(request)
        organization = organization_by_name(org)
        if not can_admin_org(user, organization, token=token):
            raise Forbidden("Only admins of this organization can manage its members")
        return user, organization

    def put(self, request: Request, org: str, username: str) -> Response:
        user, organization = self._authorize(request, org)
        data = validated_input(self.InputSerializer, request.data)
        membership_update(org=organization, user=user_by_name(username), role=data["role"], actor=user,
                          ip=client_ip(request))
        return Response(_serialize_members(organization))

    def delete(self, request: Request, org: str, username: str) -> Response:
        user, organization = self._authorize(request, org)
        membership_remove(org=organization, user=user_by_name(username), actor=user, ip=client_ip(request))
        return Response(_serialize_members(organization))


class OrgAuditApi(APIView):
    def get(self, request: Request, org: str) -> HttpResponse:
        user, token = require_signed_in(request)
        organization = organization_by_name(org)
        if not can_admin_org(user, organization, token=token):
            raise Forbidden("Only admins of this organization can read its audit log")
        events = list(audit_events_for_org(org=organization))
        audit(action="org.audit_log.export", actor=user, target=f"org:{organization.name}", ip=client_ip(request))
        return audit_export(events, filename=f"{organization.name}-audit.json")
