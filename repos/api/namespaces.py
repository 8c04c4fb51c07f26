"""Users and organizations as the client sees them: `get_user_overview`,
`get_organization_overview`, and `list_user_repos` (`hf repos ls`: `/api/settings/repositories`)."""
from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse

from accounts.permissions import can_see_org_members, request_principal, require_signed_in
from accounts.selectors import organization_by_name, user_by_name, user_memberships
from hub.exceptions import Forbidden
from hub.http.api import api_view, json_response
from hub.http.dates import hf_date
from hub.http.pagination import cursor_offset, encode_cursor, set_next_link
from repos.models import Repository
from repos.selectors.namespaces import (
    namespace_repo_counts,
    namespace_repos,
    organization_member_count,
    user_like_count,
)

PAGE_SIZE = 500


def _storage_item(repo: Repository) -> dict[str, Any]:
    return {"id": repo.repo_id, "type": repo.repo_type, "updatedAt": hf_date(repo.last_modified),
            "visibility": "private" if repo.private else "public", "storage": repo.used_storage,
            "storagePercent": 0}


def _repo_page(request: HttpRequest, namespace: str) -> JsonResponse:
    viewer, token = request_principal(request)
    offset = cursor_offset(request)
    repos = list(namespace_repos(namespace=namespace, viewer=viewer, token=token)[offset:offset + PAGE_SIZE + 1])
    cursor = encode_cursor({"o": offset + PAGE_SIZE}) if len(repos) > PAGE_SIZE else None
    response = json_response([_storage_item(r) for r in repos[:PAGE_SIZE]])
    return set_next_link(response, request, request.path, cursor)  # type: ignore[return-value]


@api_view("GET")
def my_repositories_api(request: HttpRequest) -> JsonResponse:
    """`GET /api/settings/repositories`: the caller's own repositories with their storage."""
    user, _token = require_signed_in(request)
    return _repo_page(request, user.username)


@api_view("GET")
def org_repositories_api(request: HttpRequest, org: str) -> JsonResponse:
    """`GET /api/organizations/{org}/settings/repositories`: an organization's repositories
    with their storage (its members)."""
    user, token = require_signed_in(request)
    organization = organization_by_name(org)
    # The same rule as the organization's member list (a token must cover the organization).
    if not can_see_org_members(user, organization, token=token):
        raise Forbidden("Only members can list the repositories of this organization")
    return _repo_page(request, organization.name)


@api_view("GET")
def user_overview_api(request: HttpRequest, username: str) -> JsonResponse:
    """`GET /api/users/{user}/overview` (`get_user_overview`): counts of what the caller can see."""
    viewer, token = request_principal(request)
    user = user_by_name(username)
    counts = namespace_repo_counts(namespace=user.username, viewer=viewer, token=token)
    orgs = [{"name": m.organization.name, "fullname": m.organization.fullname or m.organization.name,
             "avatarUrl": None, "type": "org"} for m in user_memberships(user)]
    return json_response({
        "_id": f"{user.pk:024x}", "user": user.username, "fullname": user.fullname or user.username,
        "avatarUrl": None, "type": "user", "isPro": False, "createdAt": hf_date(user.date_joined),
        "numModels": counts["model"], "numDatasets": counts["dataset"], "numSpaces": counts["space"],
        "numLikes": user_like_count(user=user), "numDiscussions": 0, "numPapers": 0, "numUpvotes": 0,
        "numFollowers": 0, "numFollowing": 0, "orgs": orgs,
    })


@api_view("GET")
def org_overview_api(request: HttpRequest, org: str) -> JsonResponse:
    """`GET /api/organizations/{org}/overview` (`get_organization_overview`)."""
    viewer, token = request_principal(request)
    organization = organization_by_name(org)
    counts = namespace_repo_counts(namespace=organization.name, viewer=viewer, token=token)
    return json_response({
        "_id": f"{organization.pk:024x}", "name": organization.name,
        "fullname": organization.fullname or organization.name, "avatarUrl": None, "type": "org",
        "isVerified": False, "plan": None, "createdAt": hf_date(organization.created_at),
        "numUsers": organization_member_count(org=organization), "numModels": counts["model"],
        "numDatasets": counts["dataset"], "numSpaces": counts["space"], "numFollowers": 0, "numPapers": 0,
    })
