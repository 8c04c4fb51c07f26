"""`/{ns}/{name}/settings`: visibility, gating, collaborators, the access-request queue, the
audit log and deletion. Each view names the `repos.gate` action it needs:

* "settings" (the page, visibility, gating, the access-request queue): repository admins,
  also through a fine-grained token with write access;
* "admin" (collaborators, renaming and transferring, deletion): repository admins in a browser session or with a
  classic write token or a fine-grained token with admin access. The page shows these
  sections (and the audit log) only to them.

Readers get 403, everyone else the same 404 as a missing repository.

Every change is a POST to its own URL that calls one service and redirects back with a
message; a refused change (the service's HubError) becomes an error message, not a 500.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_POST, require_safe

from accounts.permissions import request_principal
from accounts.selectors import user_by_name
from accounts.web.forms import CollaboratorForm
from hub.exceptions import BadRequest, Forbidden, HubError
from hub.http.client import client_ip
from hub.http.pages import change_and_return, login_required_page
from repos.forms import MoveRepoForm
from repos.gate import Action, can_admin, can_move_to, creatable_namespaces
from repos.models import AccessRequest, Repository
from repos.reviews.checks import available_checks
from repos.reviews.selectors.merge_status import merge_rules_of
from repos.reviews.services.reviews import merge_rules_update
from repos.selectors.access import access_request_list, audit_events_for_repo, collaborator_list
from repos.services.access import access_request_decide, collaborator_remove, collaborator_set
from repos.services.repos import repo_delete, repo_move, repo_update_settings
from repos.views.context import load_repo, repo_header

AUDIT_ROWS = 50
_ROLES = ("read", "write", "admin")
_GATING = [("", "Off: anyone who can see the repository downloads its files"),
           (Repository.Gated.AUTO, "Automatic: requests are accepted at once"),
           (Repository.Gated.MANUAL, "Manual: an admin reviews every request")]


def settings_url(repo: Repository) -> str:
    return f"/{repo.url_path}/settings"


def _repo(request: HttpRequest, kwargs: dict[str, Any], action: Action) -> Repository:
    return load_repo(request, prefix=kwargs.get("prefix"), namespace=kwargs["namespace"], name=kwargs["name"],
                     action=action)


@login_required_page
@require_safe
def repo_settings(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    repo = _repo(request, kwargs, "settings")
    user, token = request_principal(request)
    admin = can_admin(user, repo, token=token)
    ctx = repo_header(request, repo, tab="settings", writable=True)
    requests = {status: list(access_request_list(repo=repo, status=status)) for status in AccessRequest.Status.values}
    ctx.update({
        "settings_url": settings_url(repo),
        "gating_choices": _GATING,
        "can_admin": admin,
        "pending": requests[AccessRequest.Status.PENDING],
        "accepted": requests[AccessRequest.Status.ACCEPTED],
        "rejected": requests[AccessRequest.Status.REJECTED],
        "pending_actions": [("accepted", "Accept"), ("rejected", "Reject")],
        "accepted_actions": [("rejected", "Revoke")],
        "rejected_actions": [("accepted", "Accept"), ("pending", "Reopen")],
        "merge_rules": merge_rules_of(repo),
        "merge_checks": sorted(available_checks().items()),
    })
    if admin:
        ctx.update({
            "collaborators": collaborator_list(repo=repo),
            "roles": _ROLES,
            "collaborator_form": CollaboratorForm(),
            "audit_events": list(audit_events_for_repo(repo=repo)[:AUDIT_ROWS]),
            "audit_export_url": f"/api/{repo.api_plural}/{repo.repo_id}/audit",
            "move_form": MoveRepoForm(namespaces=_destinations(request, repo),
                                      initial={"namespace": repo.namespace, "name": repo.name}),
        })
    return render(request, "repos/settings.html", ctx)


def _change(request: HttpRequest, repo: Repository, change: Callable[[], str]) -> HttpResponse:
    return change_and_return(request, change, settings_url(repo))


@login_required_page
@require_POST
def visibility(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    repo = _repo(request, kwargs, "settings")
    user, _token = request_principal(request)
    value = request.POST.get("visibility")

    def change() -> str:
        if value not in ("public", "private"):
            raise BadRequest("Choose public or private")
        repo_update_settings(repo=repo, user=user, private=value == "private", ip=client_ip(request))
        return f"The repository is now {value}."
    return _change(request, repo, change)


@login_required_page
@require_POST
def gating(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    repo = _repo(request, kwargs, "settings")
    user, _token = request_principal(request)
    value = request.POST.get("gated", "")

    def change() -> str:
        repo_update_settings(repo=repo, user=user, gated=value, ip=client_ip(request))
        return "Access requests are now " + ({"": "off", "auto": "accepted automatically"}
                                              .get(value, "reviewed manually")) + "."
    return _change(request, repo, change)


@login_required_page
@require_POST
def collaborator_add(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    repo = _repo(request, kwargs, "admin")
    user, _token = request_principal(request)
    form = CollaboratorForm(request.POST)

    def change() -> str:
        if not form.is_valid():
            raise BadRequest("Give a username and a role (read, write or admin)")
        member = user_by_name(form.cleaned_data["username"].strip())
        collaborator_set(repo=repo, user=member, role=form.cleaned_data["role"], actor=user, ip=client_ip(request))
        return f"{member.username} now has {form.cleaned_data['role']} access."
    return _change(request, repo, change)


@login_required_page
@require_POST
def collaborator_role(request: HttpRequest, username: str, **kwargs: Any) -> HttpResponse:
    repo = _repo(request, kwargs, "admin")
    user, _token = request_principal(request)
    role = request.POST.get("role", "")

    def change() -> str:
        member = user_by_name(username)
        collaborator_set(repo=repo, user=member, role=role, actor=user, ip=client_ip(request))
        return f"{member.username} now has {role} access."
    return _change(request, repo, change)


@login_required_page
@require_POST
def collaborator_delete(request: HttpRequest, username: str, **kwargs: Any) -> HttpResponse:
    repo = _repo(request, kwargs, "admin")
    user, _token = request_principal(request)

    def change() -> str:
        member = user_by_name(username)
        collaborator_remove(repo=repo, user=member, actor=user, ip=client_ip(request))
        return f"{member.username} is no longer a collaborator."
    return _change(request, repo, change)


@login_required_page
@require_POST
def access_request(request: HttpRequest, username: str, **kwargs: Any) -> HttpResponse:
    repo = _repo(request, kwargs, "settings")
    user, _token = request_principal(request)
    status = request.POST.get("status", "")
    labels = {"accepted": "accepted", "rejected": "rejected", "pending": "moved back to pending"}

    def change() -> str:
        if status not in labels:
            raise BadRequest("Invalid status")
        member = user_by_name(username)
        access_request_decide(repo=repo, user=member, status=status, actor=user,
                              reason=request.POST.get("reason", ""), ip=client_ip(request))
        return f"The request of {member.username} was {labels[status]}."
    return _change(request, repo, change)


@login_required_page
@require_POST
def merge_rules(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    repo = _repo(request, kwargs, "admin")

    def change() -> str:
        try:
            approvals = int(request.POST.get("required_approvals", "0") or 0)
        except ValueError as exc:
            raise BadRequest("The number of approvals must be a number") from exc
        merge_rules_update(repo=repo, required_approvals=approvals,
                           required_checks=request.POST.getlist("required_checks"))
        return "Merge rules updated."
    return _change(request, repo, change)


@login_required_page
@require_POST
def delete(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    repo = _repo(request, kwargs, "admin")
    user, _token = request_principal(request)
    if request.POST.get("confirm", "").strip() != repo.repo_id:
        messages.error(request, f"Type {repo.repo_id} to confirm the deletion.")
        return HttpResponseRedirect(settings_url(repo))
    repo_id, namespace = repo.repo_id, repo.namespace
    repo_delete(repo=repo, user=user, ip=client_ip(request))
    messages.success(request, f"{repo_id} was deleted.")
    return HttpResponseRedirect(f"/{namespace}")


def _destinations(request: HttpRequest, repo: Repository) -> list[str]:
    """Where the repository may go: the namespaces the user may create repositories in (the
    repository's own first, kept even when that is someone else's, for a rename by an admin)."""
    user, token = request_principal(request)
    names = creatable_namespaces(user, token=token)
    return [repo.namespace, *[n for n in names if n != repo.namespace]]


@login_required_page
@require_POST
def move(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    """Rename and/or transfer (`repos.services.repos.repo_move`, as `POST /api/repos/move`):
    admins of the repository, to a namespace they may create repositories in; the form
    repeats the repository's id to confirm. The old id redirects to the new one."""
    repo = _repo(request, kwargs, "admin")
    user, token = request_principal(request)
    form = MoveRepoForm(request.POST, namespaces=_destinations(request, repo))
    if not form.is_valid():
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        messages.error(request, f"Choose an owner and a valid name ({errors}).")
        return HttpResponseRedirect(settings_url(repo))
    if form.cleaned_data["confirm"].strip() != repo.repo_id:
        messages.error(request, f"Type {repo.repo_id} to confirm the move.")
        return HttpResponseRedirect(settings_url(repo))
    namespace, name, old = form.cleaned_data["namespace"], form.cleaned_data["name"], repo.repo_id
    try:
        if not can_move_to(user, repo, namespace, token=token):
            raise Forbidden(f"You don't have the rights to move a repository to the namespace {namespace!r}")
        repo = repo_move(repo=repo, user=user, namespace=namespace, name=name, ip=client_ip(request))
    except HubError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(settings_url(repo))
    messages.success(request, f"{old} is now {repo.repo_id}; links to the old name lead here.")
    return HttpResponseRedirect(settings_url(repo))
