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

from accounts.models import Organization, User
from accounts.permissions import can_admin_org, can_see_org_members, request_principal
from accounts.selectors import org_members, user_memberships
from hub.exceptions import NotFound
from repos.gate import can_create_in_namespace, repos_visible_to
from repos.models import Repository, RepoType

PER_SECTION = 100
_CARD_FIELDS = ("repo_type", "namespace", "name", "private", "pipeline_tag", "last_modified", "downloads",
                "likes", "gated")


def _sections(viewer: Any, token: Any, namespace: str) -> list[dict[str, Any]]:
    visible = repos_visible_to(viewer, Repository.objects.filter(namespace=namespace, disabled=False), token=token)
    sections = []
    for repo_type, title in ((RepoType.MODEL, "Models"), (RepoType.DATASET, "Datasets")):
        qs = visible.filter(repo_type=repo_type)
        repos = list(qs.order_by("-last_modified", "-pk").only(*_CARD_FIELDS)[:PER_SECTION])
        sections.append({"title": title, "count": qs.count(),
                         "repos": [{"repo": r, "url": "/" + r.url_path} for r in repos]})
    return sections


@require_safe
def namespace_page(request: HttpRequest, namespace: str) -> HttpResponse:
    viewer, token = request_principal(request)
    org = Organization.objects.filter(name=namespace).first()
    if org is not None:
        return _org_page(request, viewer, token, org)
    owner = User.objects.filter(username=namespace, is_active=True).first()
    if owner is None:
        raise NotFound("Page not found")
    memberships = user_memberships(owner)
    # A user's organizations are shown only where the visitor may see that org's members.
    orgs = [m.organization for m in memberships if can_see_org_members(viewer, m.organization, token=token)]
    ctx = {
        "owner": owner,
        "sections": _sections(viewer, token, owner.username),
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
        "sections": _sections(viewer, token, org.name),
        "members": members,
        "can_admin": can_admin_org(viewer, org, token=token),
        "can_create": can_create_in_namespace(viewer, org.name, token=token),
    }
    return render(request, "orgs/profile.html", ctx)
