"""Write pages: create a repository, upload files, edit or create a text file.

Anonymous visitors are sent to the login page before anything is looked up or parsed;
logged-in users without write access get 403 (or the 404 page for a hidden repository).
Every change goes through a service: `repo_create` or `commit_create`.
"""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from accounts.permissions import request_principal
from hub.exceptions import Forbidden, HubError
from hub.http.client import client_ip
from hub.http.pages import login_required_page
from repos.forms import EditFileForm, NewFileForm, NewRepoForm, UploadForm, normalize_newlines
from repos.gate import can_create_in_namespace, creatable_namespaces
from repos.links import RepoLinks, breadcrumbs
from repos.models import Repository, RepoType
from repos.selectors import pages
from repos.services.commits import AddFile, AddLfsFile, CommitHeader, CommitResult, commit_create
from repos.services.repos import repo_create
from repos.services.uploads import uploads_stage
from repos.views.context import load_repo, repo_header
from repos.views.upload_handlers import DiskUploadHandler


def _data(request: HttpRequest) -> QueryDict | None:
    """The form data of a POST (even an empty one, so that it is validated), else None."""
    return request.POST if request.method == "POST" else None


# ----------------------------------------------------------------------------- new repo


@login_required_page
@require_http_methods(["GET", "HEAD", "POST"])
def new_repo(request: HttpRequest, repo_type: str = RepoType.MODEL) -> HttpResponse:
    user, token = request_principal(request)
    namespaces = creatable_namespaces(user, token=token)
    if not namespaces:
        raise Forbidden("Your access token cannot create repositories")
    form = NewRepoForm(_data(request), namespaces=namespaces, initial={"owner": user.username})
    status = 200
    if request.method == "POST" and form.is_valid():
        owner = form.cleaned_data["owner"]
        if not can_create_in_namespace(user, owner, token=token):
            raise Forbidden(f"You cannot create repositories in {owner}")
        try:
            repo = repo_create(user=user, namespace=owner, name=form.cleaned_data["name"], repo_type=repo_type,
                               private=form.cleaned_data["private"])
        except HubError as exc:
            form.add_error("name", exc.message)
            status = exc.status
        else:
            return HttpResponseRedirect("/" + repo.url_path)
    elif request.method == "POST":
        status = 400
    kind = "dataset" if repo_type == RepoType.DATASET else "model"
    return render(request, "repos/new_repo.html", {"form": form, "kind": kind}, status=status)


# ----------------------------------------------------------------------------- shared


def _commit(request: HttpRequest, repo: Repository, *, branch: str, ops: list, summary: str, description: str,
            parent: str | None, pull_request: bool = False) -> CommitResult:
    """Commit on `branch`, or open a pull request (ready for review) holding the commit."""
    user, token = request_principal(request)
    return commit_create(repo=repo, user=user, revision=branch,
                         header=CommitHeader(summary=summary, description=description, parent_commit=parent),
                         operations=ops, token=token, origin="web", ip=client_ip(request), create_pr=pull_request,
                         draft=False)


def _opened(request: HttpRequest, repo: Repository, result: CommitResult) -> HttpResponse:
    assert result.pull_request is not None
    messages.success(request, f"Opened pull request #{result.pull_request.num}.")
    return HttpResponseRedirect(RepoLinks(repo).discussion(result.pull_request.num))


def _commit_text_file(request: HttpRequest, repo: Repository, form: Any, *, branch: str, path: str, content: str,
                      default_summary: str, parent: str | None) -> tuple[HttpResponse | None, int]:
    """Commit one text file from an edit/new-file form: (redirect to the file, 200) on success,
    else (None, status) with the error added to the form."""
    summary, description = form.commit_message(default_summary)
    try:
        result = _commit(request, repo, branch=branch, ops=[AddFile(path=path, content=content.encode())],
                         summary=summary, description=description, parent=parent,
                         pull_request=form.cleaned_data.get("pull_request", False))
    except HubError as exc:
        form.add_error(None, exc.message)
        return None, exc.status
    if result.pull_request is not None:
        return _opened(request, repo, result), 200
    sha = result.sha
    messages.success(request, f"Committed {sha[:7]}: {summary}")
    return HttpResponseRedirect(RepoLinks(repo).blob(branch, path)), 200


# ----------------------------------------------------------------------------- upload


@csrf_exempt
@login_required_page
@require_http_methods(["GET", "HEAD", "POST"])
def upload(request: HttpRequest, namespace: str, name: str, remainder: str, prefix: str | None = None) -> HttpResponse:
    # Authorize before the body is read: a reader must not get to spool gigabytes to disk.
    repo = load_repo(request, prefix=prefix, namespace=namespace, name=name, action="write")
    at = pages.branch_target(repo=repo, remainder=remainder)
    # The handlers must be replaced before anything reads the body, which is why this view
    # is CSRF-exempt and the check runs in `_upload` (Django's documented pattern).
    request.upload_handlers = [DiskUploadHandler(request)]
    return _upload(request, repo=repo, branch=at.rev, folder=at.path, head=at.sha)


@csrf_protect
def _upload(request: HttpRequest, *, repo: Repository, branch: str, folder: str, head: str) -> HttpResponse:
    form = UploadForm(_data(request), request.FILES if request.method == "POST" else None, initial={"folder": folder})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            paths, files = form.cleaned_data["paths"], form.cleaned_data["files"]
            try:
                staged = uploads_stage(repo=repo, sha=head, paths=paths, files=files)
                ops = [AddLfsFile(path=s.path, oid=s.oid, size=s.size) if s.mode == "lfs"
                       else AddFile(path=s.path, content=s.data) for s in staged]
                default = f"Upload {paths[0]}" if len(paths) == 1 else f"Upload {len(paths)} files"
                summary, description = form.commit_message(default)
                result = _commit(request, repo, branch=branch, ops=ops, summary=summary, description=description,
                                 parent=None, pull_request=form.cleaned_data.get("pull_request", False))
            except HubError as exc:
                form.add_error(None, exc.message)
                status = exc.status
            else:
                if result.pull_request is not None:
                    return _opened(request, repo, result)
                messages.success(request, f"Committed {len(paths)} file(s) in {result.sha[:7]}.")
                return HttpResponseRedirect(RepoLinks(repo).tree(branch, form.cleaned_data["folder"]))
    ctx = repo_header(request, repo, tab="files", rev=branch, writable=True)
    ctx.update({"form": form, "folder": folder, "crumbs": breadcrumbs(ctx["links"], branch, folder),
                "action_url": ctx["links"].upload(branch, folder), "cancel_url": ctx["links"].tree(branch, folder)})
    return render(request, "repos/upload.html", ctx, status=status)


# ----------------------------------------------------------------------------- edit / new file


@login_required_page
@require_http_methods(["GET", "HEAD", "POST"])
def edit_file(request: HttpRequest, namespace: str, name: str, remainder: str, prefix: str | None = None
              ) -> HttpResponse:
    repo = load_repo(request, prefix=prefix, namespace=namespace, name=name, action="write")
    at = pages.branch_target(repo=repo, remainder=remainder)
    branch, path, head = at.rev, at.path, at.sha
    links = RepoLinks(repo)
    original = pages.editable_file(repo=repo, at=at)
    form = EditFileForm(_data(request), initial={"content": original, "parent": head})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            content = normalize_newlines(form.cleaned_data["content"], crlf="\r\n" in original)
            done, status = _commit_text_file(request, repo, form, branch=branch, path=path, content=content,
                                             default_summary=f"Update {path}", parent=form.cleaned_data["parent"])
            if done is not None:
                return done
    ctx = repo_header(request, repo, tab="files", rev=branch, writable=True)
    ctx.update({"form": form, "path": path, "crumbs": breadcrumbs(links, branch, path),
                "cancel_url": links.blob(branch, path), "action_url": links.edit(branch, path),
                "mode": "edit"})
    return render(request, "repos/edit_file.html", ctx, status=status)


@login_required_page
@require_http_methods(["GET", "HEAD", "POST"])
def new_file(request: HttpRequest, namespace: str, name: str, remainder: str, prefix: str | None = None
             ) -> HttpResponse:
    repo = load_repo(request, prefix=prefix, namespace=namespace, name=name, action="write")
    at = pages.branch_target(repo=repo, remainder=remainder)
    branch, folder, head = at.rev, at.path, at.sha
    links = RepoLinks(repo)
    initial = {"parent": head, "filename": request.GET.get("filename", "")[:255]}
    form = NewFileForm(_data(request), initial=initial, folder=folder)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            path = form.cleaned_data["filename"]
            parent = form.cleaned_data["parent"]
            if pages.path_exists(repo=repo, sha=parent, path=path):
                form.add_error("filename", f"{path} already exists; edit it instead.")
            else:
                content = normalize_newlines(form.cleaned_data["content"], crlf=False)
                done, status = _commit_text_file(request, repo, form, branch=branch, path=path, content=content,
                                                 default_summary=f"Create {path}", parent=parent)
                if done is not None:
                    return done
    ctx = repo_header(request, repo, tab="files", rev=branch, writable=True)
    ctx.update({"form": form, "folder": folder, "crumbs": breadcrumbs(links, branch, folder),
                "cancel_url": links.tree(branch, folder), "action_url": links.new_file(branch, folder),
                "mode": "new"})
    return render(request, "repos/edit_file.html", ctx, status=status)
