"""Organization pages: `/organizations/new` and `/{org}/settings/members` (invite, change
role, remove; the organization's audit log). For the organization's admins (`can_admin_org`)."""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from accounts import selectors as account_selectors
from accounts.models import Membership, Organization
from accounts.permissions import can_admin_org, request_principal
from accounts.selectors import audit_events_for_org, organization_by_name, user_by_name
from accounts.services.orgs import membership_add, membership_remove, membership_update, org_create
from accounts.web.forms import MemberAddForm, OrganizationForm
from hub.exceptions import Forbidden, HubError
from hub.http.client import client_ip
from hub.http.pages import login_required_page

AUDIT_ROWS = 50


def _members_url(org: Organization) -> str:
    return f"/{org.name}/settings/members"


def _admin_org(request: HttpRequest, name: str) -> tuple[Any, Organization]:
    user, token = request_principal(request)
    org = organization_by_name(name)
    if not can_admin_org(user, org, token=token):
        raise Forbidden("Only admins of this organization can manage its members")
    return user, org


@login_required_page
@require_http_methods(["GET", "HEAD", "POST"])
def org_new(request: HttpRequest) -> HttpResponse:
    user, token = request_principal(request)
    if token is not None:
        raise Forbidden("Creating an organization needs a browser session")
    form = OrganizationForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                org = org_create(user=user, name=form.cleaned_data["name"], fullname=form.cleaned_data["fullname"],
                                 ip=client_ip(request))
            except HubError as exc:
                form.add_error("name", exc.message)
                status = exc.status
            else:
                messages.success(request, f"Organization {org.name} created.")
                return HttpResponseRedirect(f"/{org.name}")
    return render(request, "orgs/new.html", {"form": form}, status=status)


def _members_page(request: HttpRequest, org: Organization, form: MemberAddForm, status: int = 200) -> HttpResponse:
    members = account_selectors.org_members(org)
    ctx = {"org": org, "members": members, "roles": Membership.Role.values, "form": form,
           "audit_events": list(audit_events_for_org(org=org)[:AUDIT_ROWS]),
           "audit_export_url": f"/api/organizations/{org.name}/audit"}
    return render(request, "orgs/members.html", ctx, status=status)


@login_required_page
@require_http_methods(["GET", "HEAD", "POST"])
def org_members(request: HttpRequest, org: str) -> HttpResponse:
    user, organization = _admin_org(request, org)
    if request.method != "POST":
        return _members_page(request, organization, MemberAddForm())
    form = MemberAddForm(request.POST)
    if not form.is_valid():
        return _members_page(request, organization, form, status=400)
    try:
        member = user_by_name(form.cleaned_data["username"].strip())
        membership_add(org=organization, user=member, role=form.cleaned_data["role"], actor=user, ip=client_ip(request))
    except HubError as exc:
        form.add_error("username", exc.message)
        return _members_page(request, organization, form, status=exc.status)
    messages.success(request, f"{member.username} joined {organization.name} as {form.cleaned_data['role']}.")
    return HttpResponseRedirect(_members_url(organization))


@login_required_page
@require_POST
def org_member_role(request: HttpRequest, org: str, username: str) -> HttpResponse:
    user, organization = _admin_org(request, org)
    role = request.POST.get("role", "")
    try:
        member = user_by_name(username)
        membership_update(org=organization, user=member, role=role, actor=user, ip=client_ip(request))
    except HubError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{member.username} is now {role}.")
    return HttpResponseRedirect(_members_url(organization))


@login_required_page
@require_POST
def org_member_remove(request: HttpRequest, org: str, username: str) -> HttpResponse:
    user, organization = _admin_org(request, org)
    try:
        member = user_by_name(username)
        membership_remove(org=organization, user=member, actor=user, ip=client_ip(request))
    except HubError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{member.username} was removed from {organization.name}.")
    return HttpResponseRedirect(_members_url(organization))
