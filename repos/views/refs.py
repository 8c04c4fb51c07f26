"""`/{ns}/{name}/refs`: the branches and tags of a repository, and the forms that create and
delete them.

Anyone who reads the repository sees the list; creating and deleting need the gate's "write"
action (the API's branch and tag routes need the same) and go through `repos.services.refs`,
which asks the push policy under the repository lock (the protected default branch cannot be
deleted, a fine-grained token is re-read) and announces the change through the event door with
origin "web". Deleting asks first: the delete link opens a confirmation page whose form makes
the POST. Every form carries the CSRF token; a refusal is shown with its message and status.
"""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.permissions import request_principal
from hub.exceptions import BadRequest, HubError
from hub.http.client import client_ip
from hub.http.pages import login_required_page
from repos.forms import NewRefForm, RefDeleteForm
from repos.gate import Action
from repos.links import RepoLinks
from repos.models import Repository
from repos.selectors import pages
from repos.services.refs import branch_create, branch_delete, tag_create, tag_delete
from repos.views.context import load_repo, repo_header


def _repo(request: HttpRequest, kwargs: dict[str, Any], action: Action) -> Repository:
    return load_repo(request, prefix=kwargs.get("prefix"), namespace=kwargs["namespace"], name=kwargs["name"],
                     action=action)


def _page(request: HttpRequest, repo: Repository, *, branch_form: NewRefForm | None = None,
          tag_form: NewRefForm | None = None, error: str = "", status: int = 200) -> HttpResponse:
    ctx = repo_header(request, repo, tab="files")
    listing = pages.refs_page(repo=repo, links=ctx["links"])
    ctx.update({
        "branches": listing.branches, "tags": listing.tags, "truncated": listing.truncated, "error": error,
        "branch_form": branch_form or NewRefForm(initial={"kind": "branch"}, prefix="branch"),
        "tag_form": tag_form or NewRefForm(initial={"kind": "tag"}, prefix="tag"),
        "refs_url": ctx["links"].refs(),
    })
    return render(request, "repos/refs.html", ctx, status=status)


@require_safe
def refs(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return _page(request, _repo(request, kwargs, "read"))


@login_required_page
@require_POST
def ref_create(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    repo = _repo(request, kwargs, "write")
    user, token = request_principal(request)
    # The page holds one form per kind, told apart by their prefixes.
    prefix = "tag" if request.POST.get("tag-kind") == "tag" else "branch"
    form = NewRefForm(request.POST, prefix=prefix)
    forms = {f"{prefix}_form": form}
    try:
        if not form.is_valid() or form.cleaned_data["kind"] != prefix:
            raise BadRequest("Give the name of the new " + prefix)
        name, revision = form.cleaned_data["name"].strip(), form.cleaned_data["revision"].strip()
        if prefix == "branch":
            sha = branch_create(repo=repo, user=user, branch=name, starting_point=revision or None, token=token,
                                ip=client_ip(request), origin="web")
        else:
            sha = tag_create(repo=repo, user=user, revision=revision or repo.default_branch, tag=name,
                             message=form.cleaned_data["message"].strip() or None, token=token,
                             ip=client_ip(request), origin="web")
    except HubError as exc:
        return _page(request, repo, error=exc.message, status=exc.status, **forms)  # type: ignore[arg-type]
    messages.success(request, f"Created {prefix} {name} at {sha[:7]}.")
    return HttpResponseRedirect(RepoLinks(repo).refs())


@login_required_page
@require_http_methods(["GET", "HEAD", "POST"])
def ref_delete(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    repo = _repo(request, kwargs, "write")
    form = RefDeleteForm(request.POST if request.method == "POST" else request.GET)
    if not form.is_valid():
        raise BadRequest("Name the branch or tag to delete (kind=branch|tag, name)")
    kind, name = form.cleaned_data["kind"], form.cleaned_data["name"]
    status, error = 200, ""
    if request.method == "POST":
        user, token = request_principal(request)
        try:
            if kind == "branch":
                branch_delete(repo=repo, user=user, branch=name, token=token, ip=client_ip(request), origin="web")
            else:
                tag_delete(repo=repo, user=user, tag=name, token=token, ip=client_ip(request), origin="web")
        except HubError as exc:
            status, error = exc.status, exc.message
        else:
            messages.success(request, f"Deleted {kind} {name}.")
            return HttpResponseRedirect(RepoLinks(repo).refs())
    ctx = repo_header(request, repo, tab="files")
    ctx.update({"kind": kind, "name": name, "error": error, "is_default": kind == "branch"
                and name == repo.default_branch, "refs_url": ctx["links"].refs(),
                "action_url": f"{ctx['links'].refs()}/delete"})
    return render(request, "repos/ref_delete.html", ctx, status=status)
