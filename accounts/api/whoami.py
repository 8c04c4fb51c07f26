"""`GET /api/whoami-v2`: who the presented token belongs to (HF_PROTOCOL.md §3.1)."""
from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse

from accounts.models import AccessToken, TokenScope, User
from accounts.selectors import user_memberships
from hub.exceptions import Unauthorized
from hub.http.api import api_view
from hub.http.dates import hf_date
from hub.http.errors import error_response

# HF's names for read and write ("repo.write": contents and settings); ours for admin (delete,
# rename, transfer, collaborators, history rewrite, audit export) and, on an organization, for
# managing its members and audit log.
_SCOPE_PERMISSIONS = {
    TokenScope.Access.READ: ["repo.content.read"],
    TokenScope.Access.WRITE: ["repo.content.read", "repo.write"],
    TokenScope.Access.ADMIN: ["repo.content.read", "repo.write", "repo.admin"],
}
_ORG_ADMIN = "org.admin"


def scope_permissions(scope: TokenScope) -> list[str]:
    """What one scope grants, as whoami's `fineGrained.scoped[].permissions` lists it."""
    permissions = list(_SCOPE_PERMISSIONS.get(scope.access, []))
    if scope.access == TokenScope.Access.ADMIN and scope.repository_id is None and scope.organization_id is not None:
        permissions.append(_ORG_ADMIN)
    return permissions


def fine_grained_payload(token: AccessToken) -> dict[str, Any]:
    """HF's `accessToken.fineGrained`: one `scoped` entry per scope, named by its entity."""
    scoped = []
    for scope in token.scopes.all():
        if scope.repository_id is not None:
            repo = scope.repository
            entity = {"_id": f"{repo.pk:024x}", "type": repo.repo_type, "name": f"{repo.namespace}/{repo.name}"}
        elif scope.organization_id is not None:
            org = scope.organization
            entity = {"_id": f"{org.pk:024x}", "type": "org", "name": org.name}
        else:
            entity = {"_id": f"{token.user_id:024x}", "type": "user", "name": token.user.username}
        scoped.append({"entity": entity, "permissions": scope_permissions(scope)})
    return {"canReadGatedRepos": True, "global": [], "scoped": scoped}


def whoami_payload(user: User, token: AccessToken | None) -> dict[str, Any]:
    memberships = user_memberships(user)
    auth: dict[str, Any]
    if token is not None:
        access_token: dict[str, Any] = {"displayName": token.name, "role": token.role,
                                        "createdAt": hf_date(token.created_at)}
        if token.role == AccessToken.Role.FINE_GRAINED:
            access_token["fineGrained"] = fine_grained_payload(token)
        auth = {"type": "access_token", "accessToken": access_token}
    else:
        auth = {"type": "session"}
    return {
        "type": "user",
        "id": f"{user.pk:024x}",
        "name": user.username,
        "fullname": user.fullname or user.username,
        "email": user.email or None,
        "emailVerified": bool(user.email),
        "isPro": False,
        "canPay": False,
        "orgs": [
            {"type": "org", "id": f"{m.organization.pk:024x}", "name": m.organization.name,
             "fullname": m.organization.fullname or m.organization.name, "roleInOrg": m.role}
            for m in memberships
        ],
        "auth": auth,
    }


@api_view("GET")
def whoami(request: HttpRequest) -> JsonResponse:
    """401 with HF's exact message when no valid credentials came with the request."""
    user = request.user
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return error_response(401, Unauthorized.default_message, request=request)
    return JsonResponse(whoami_payload(user, getattr(request, "auth_token", None)))
