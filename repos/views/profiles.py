"""`/{name}`: the page of a user or an organization with the repositories the visitor may see.

Lists and counts come from `repos_visible_to`, so a private repository the visitor cannot
read is absent from the page exactly as if it did not exist. Organization members are listed
to those `can_see_org_members` allows.
"""
from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from accounts.models import Organization
from accounts.permissions import can_admin_org, can_see_org_members, request_principal
from accounts.selectors import namespace_owner, org_members, user_memberships
from hub.exceptions import NotFound
from repos.gate import can_create_in_namespace
from repos.selectors.repo_list import namespace_sections


@require_safe
def namespace_page(request: HttpRequest, namespace: str) -> HttpResponse:
    viewer, token = request_principal(request)
    owner = namespace_owner(namespace)
    if isinstance(owner, Organization):
        return _org_page(request, viewer, token, owner)
    if owner is None:
        raise NotFound("Page not found")
    memberships = user_memberships(owner)
    # A user's organizations are shown only where the visitor may see that org's members.
    orgs = [m.organization for m in memberships if can_see_org_members(viewer, m.organization, token=token)]
    ctx = {
        "owner": owner,
        "sections": namespace_sections(viewer=viewer, token=token, namespace=owner.username),
        "orgs": orgs,
        "is_self": viewer.is_authenticated and viewer.pk == owner.pk,
    }
    return render(request, "accounts/profile.html", ctx)


def _org_page(request: HttpRequest, viewer: Any, token: Any, org: Organization) -> HttpResponse:
    members = None
    if can_see_org_members(viewer, org, token=token):
        members = list(org_members(org))
    ctx = {
        "org": org,
        "sections": namespace_sections(viewer=viewer, token=token, namespace=org.name),
        "members": members,
        "can_admin": can_admin_org(viewer, org, token=token),
        "can_create": can_create_in_namespace(viewer, org.name, token=token),
    }
    return render(request, "orgs/profile.html", ctx)
