"""Delete and rename files and folders from the pages.

Each page is a confirmation: GET shows what will change (and, for a folder, how many files
it holds) with the commit fields; the POST (CSRF-protected, like every form) makes the change
through `repos.services.files` - one `commit_create`, so the push policy, the parent check
(412 when the branch moved since the page was shown) and the event (origin "web") are those
of the commit API. Access is the other write pages' (`repos.views.write`): the gate's
"contribute" action, writers choose between a commit and a pull request, those who may only
propose changes get a pull request; a rename copies the bytes, so on a gated repository it
also needs access to the files. A refusal (the policy's Forbidden, a conflict, a stale page)
is shown on the page with its status, never a 500.
"""
from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from accounts.models import AccessToken
from accounts.permissions import Principal, is_signed_in, request_principal
from hub.exceptions import HubError
from hub.http.client import client_ip
from hub.http.pages import login_required_page
from repos.forms import MovePathForm, PathChangeForm
from repos.gate import can_open_pull_request
from repos.links import RepoLinks, breadcrumbs
from repos.models import Repository
from repos.selectors import pages
from repos.services.commits import CommitHeader, CommitResult
from repos.services.files import path_move, paths_delete
from repos.views.context import load_repo
from repos.views.write import commit_target, opened_pull_request, write_page_context


def may_propose(user: Principal, repo: Repository, *, token: AccessToken | None, writable: bool) -> bool:
    """Whether the pages offer changes to files (commit or pull request) to this requester."""
    if writable:
        return True
    return is_signed_in(user) and can_open_pull_request(user, repo, token=token)


def _folder_of(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


def _done(request: HttpRequest, repo: Repository, result: CommitResult, *, text: str, url: str) -> HttpResponse:
    if result.pull_request is not None:
        return HttpResponseRedirect(opened_pull_request(request, repo, result))
    messages.success(request, f"{text} in {result.sha[:7]}.")
    return HttpResponseRedirect(url)


@login_required_page
@require_http_methods(["GET", "HEAD", "POST"])
def delete_path(request: HttpRequest, namespace: str, name: str, remainder: str, prefix: str | None = None
                ) -> HttpResponse:
    repo = load_repo(request, prefix=prefix, namespace=namespace, name=name, action="contribute")
    target = pages.path_target(repo=repo, at=pages.branch_target(repo=repo, remainder=remainder))
    branch, path = target.at.rev, target.at.path
    links = RepoLinks(repo)
    form = PathChangeForm(request.POST if request.method == "POST" else None, initial={"parent": target.at.sha})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            user, token = request_principal(request)
            summary, description = form.commit_message(f"Delete {path}")
            try:
                create_pr = commit_target(request, repo, branch=branch,
                                          pull_request=form.cleaned_data.get("pull_request", False))
                result = paths_delete(repo=repo, user=user, branch=branch, paths=[path], token=token,
                                      header=CommitHeader(summary=summary, description=description,
                                                          parent_commit=form.cleaned_data["parent"]),
                                      origin="web", ip=client_ip(request), create_pr=create_pr)
            except HubError as exc:
                form.add_error(None, exc.message)
                status = exc.status
            else:
                return _done(request, repo, result, text=f"Deleted {path}", url=links.tree(branch, _folder_of(path)))
    ctx = write_page_context(request, repo, branch=branch)
    ctx.update({"form": form, "target": target, "path": path, "crumbs": breadcrumbs(links, branch, path),
                "action_url": links.delete(branch, path),
                "cancel_url": links.blob(branch, path) if target.type == "file" else links.tree(branch, path)})
    return render(request, "repos/delete_path.html", ctx, status=status)


@login_required_page
@require_http_methods(["GET", "HEAD", "POST"])
def rename_path(request: HttpRequest, namespace: str, name: str, remainder: str, prefix: str | None = None
                ) -> HttpResponse:
    # A move copies the bytes into the new commit: on a gated repository, only for those who may read them.
    repo = load_repo(request, prefix=prefix, namespace=namespace, name=name, action="contribute", files=True)
    target = pages.path_target(repo=repo, at=pages.branch_target(repo=repo, remainder=remainder))
    branch, path = target.at.rev, target.at.path
    links = RepoLinks(repo)
    form = MovePathForm(request.POST if request.method == "POST" else None,
                        initial={"parent": target.at.sha, "destination": path})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            user, token = request_principal(request)
            destination = form.cleaned_data["destination"]
            summary, description = form.commit_message(f"Rename {path} to {destination}")
            try:
                create_pr = commit_target(request, repo, branch=branch,
                                          pull_request=form.cleaned_data.get("pull_request", False))
                result = path_move(repo=repo, user=user, branch=branch, source=path, destination=destination,
                                   header=CommitHeader(summary=summary, description=description,
                                                       parent_commit=form.cleaned_data["parent"]),
                                   token=token, origin="web", ip=client_ip(request), create_pr=create_pr)
            except HubError as exc:
                form.add_error(None, exc.message)
                status = exc.status
            else:
                url = links.blob(branch, destination) if target.type == "file" else links.tree(branch, destination)
                return _done(request, repo, result, text=f"Renamed {path} to {destination}", url=url)
    ctx = write_page_context(request, repo, branch=branch)
    ctx.update({"form": form, "target": target, "path": path, "crumbs": breadcrumbs(links, branch, path),
                "action_url": links.rename(branch, path),
                "cancel_url": links.blob(branch, path) if target.type == "file" else links.tree(branch, path)})
    return render(request, "repos/rename_path.html", ctx, status=status)
