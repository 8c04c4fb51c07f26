"""Write pages: create a repository, upload files, edit or create a text file.

Anonymous visitors are sent to the login page before anything is looked up or parsed. The
file pages need the gate's "contribute" action: writers commit to the branch or open a pull
request (their choice); whoever may only propose changes (`can_open_pull_request`: anyone
signed in on a public repository, contributors on a private one) gets the same pages with
the pull request as the only way, and everyone else 403 (or the 404 page for a hidden
repository). Editing shows a file's content, so on a gated repository it also needs access to
the files. Every change goes through a service (`repo_create`, `commit_create`) after the
same `repos.policy.push.commit_target_check` the commit API runs.

The upload form works without JavaScript (a plain POST, then a redirect); `static/js/write.js`
sends the same form with XMLHttpRequest to show each file's progress, and asks for JSON
(`Accept: application/json`): the outcome, or the error with the files it concerns.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse, QueryDict
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from accounts.permissions import request_principal
from hub.exceptions import Forbidden, HubError
from hub.http.client import client_ip
from hub.http.pages import login_required_page
from repos.forms import EditFileForm, NewFileForm, NewRepoForm, UploadForm, normalize_newlines
from repos.gate import can_create_in_namespace, can_write, creatable_namespaces
from repos.links import RepoLinks, breadcrumbs
from repos.models import Repository, RepoType
from repos.policy.push import commit_target_check
from repos.selectors import pages
from repos.services.commits import AddFile, AddLfsFile, CommitHeader, CommitResult, commit_create
from repos.services.repos import repo_create
from repos.services.uploads import StagedFile, UploadRejected, uploads_stage
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


def can_commit(request: HttpRequest, repo: Repository) -> bool:
    """Whether the requester may commit to branches directly (else: pull requests only)."""
    user, token = request_principal(request)
    return can_write(user, repo, token=token)


def commit_target(request: HttpRequest, repo: Repository, *, branch: str, pull_request: bool) -> bool:
    """Whether the change becomes a pull request - asked for, or the only way for someone who
    may not write - after the commit API's own check of who may commit where (Forbidden)."""
    user, token = request_principal(request)
    create_pr = pull_request or not can_write(user, repo, token=token)
    commit_target_check(repo=repo, user=user, token=token, revision=branch, create_pr=create_pr)
    return create_pr


def _commit(request: HttpRequest, repo: Repository, *, branch: str, ops: list, summary: str, description: str,
            parent: str | None, pull_request: bool = False) -> CommitResult:
    """Commit on `branch`, or open a pull request (ready for review) holding the commit."""
    user, token = request_principal(request)
    create_pr = commit_target(request, repo, branch=branch, pull_request=pull_request)
    return commit_create(repo=repo, user=user, revision=branch,
                         header=CommitHeader(summary=summary, description=description, parent_commit=parent),
                         operations=ops, token=token, origin="web", ip=client_ip(request), create_pr=create_pr,
                         draft=False)


def opened_pull_request(request: HttpRequest, repo: Repository, result: CommitResult) -> str:
    """Say that a pull request was opened; the URL to go to."""
    assert result.pull_request is not None
    messages.success(request, f"Opened pull request #{result.pull_request.num}.")
    return RepoLinks(repo).discussion(result.pull_request.num)


def _opened(request: HttpRequest, repo: Repository, result: CommitResult) -> HttpResponse:
    return HttpResponseRedirect(opened_pull_request(request, repo, result))


def write_page_context(request: HttpRequest, repo: Repository, *, branch: str) -> dict[str, Any]:
    """The header of a write page, and whether it may commit directly or only propose."""
    direct = can_commit(request, repo)
    ctx = repo_header(request, repo, tab="files", rev=branch, writable=direct)
    ctx["can_commit"] = direct
    return ctx


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
    # Authorize before the body is read: someone who may not even propose changes must not get
    # to spool gigabytes to disk.
    repo = load_repo(request, prefix=prefix, namespace=namespace, name=name, action="contribute")
    at = pages.branch_target(repo=repo, remainder=remainder)
    # The handlers must be replaced before anything reads the body, which is why this view
    # is CSRF-exempt and the check runs in `_upload` (Django's documented pattern).
    request.upload_handlers = [DiskUploadHandler(request)]
    return _upload(request, repo=repo, branch=at.rev, folder=at.path, head=at.sha)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _named_in(message: str, paths: list[str]) -> list[str]:
    """The uploaded paths a commit refusal names, to show it by those files: the policy ends its
    reasons with "Offending file: [- ]path", the git layer quotes the path it cannot write."""
    _, found, rest = message.rpartition("Offending file: ")
    offending = rest.removeprefix("- ").strip() if found else None
    return [p for p in paths if p == offending or repr(p) in message]


@dataclass
class _UploadOutcome:
    """What a POST of the upload form came to: the commit (and where to go next), or the
    status, the error and the files it concerns ({index, name, error}: index among the files)."""

    result: CommitResult | None = None
    url: str = ""
    staged: list[StagedFile] = field(default_factory=list)
    status: int = 400
    error: str = ""
    file_errors: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> JsonResponse:
        if self.result is None:
            return JsonResponse({"ok": False, "error": self.error or "The upload failed.",
                                 "files": self.file_errors}, status=self.status)
        pr = self.result.pull_request
        return JsonResponse({"ok": True, "redirect": self.url, "commit": self.result.sha,
                             "pullRequest": pr.num if pr is not None else None,
                             "files": [{"index": i, "path": s.path, "size": s.size, "lfs": s.mode == "lfs"}
                                       for i, s in enumerate(self.staged)]})


def _form_error(form: UploadForm) -> str:
    return "; ".join([*map(str, form.non_field_errors()),
                      *(f"{form.fields[name].label}: {e}" for name, errs in form.errors.items() if name != "__all__"
                        for e in errs)])


def _upload_files(request: HttpRequest, form: UploadForm, *, repo: Repository, branch: str,
                  head: str) -> _UploadOutcome:
    if not form.is_valid():
        return _UploadOutcome(error=_form_error(form),
                              file_errors=[{"index": i, "name": n, "error": e} for i, n, e in form.file_errors])
    paths, files = form.cleaned_data["paths"], form.cleaned_data["files"]
    try:
        # Who may commit where is asked before any byte is stored.
        create_pr = commit_target(request, repo, branch=branch,
                                  pull_request=form.cleaned_data.get("pull_request", False))
        staged = uploads_stage(repo=repo, sha=head, paths=paths, files=files)
        ops = [AddLfsFile(path=s.path, oid=s.oid, size=s.size) if s.mode == "lfs"
               else AddFile(path=s.path, content=s.data) for s in staged]
        default = f"Upload {paths[0]}" if len(paths) == 1 else f"Upload {len(paths)} files"
        summary, description = form.commit_message(default)
        result = _commit(request, repo, branch=branch, ops=ops, summary=summary, description=description,
                         parent=None, pull_request=create_pr)
    except HubError as exc:
        form.add_error(None, exc.message)
        problems = (exc.problems if isinstance(exc, UploadRejected)
                    else [(path, exc.message) for path in _named_in(exc.message, paths)])
        return _UploadOutcome(status=exc.status, error=exc.message, file_errors=[
            {"index": paths.index(path), "name": files[paths.index(path)].name, "error": text}
            for path, text in problems if path in paths])
    if result.pull_request is not None:
        url = opened_pull_request(request, repo, result)
    else:
        messages.success(request, f"Committed {len(paths)} file(s) in {result.sha[:7]}.")
        url = RepoLinks(repo).tree(branch, form.cleaned_data["folder"])
    return _UploadOutcome(result=result, url=url, staged=staged, status=200)


@csrf_protect
def _upload(request: HttpRequest, *, repo: Repository, branch: str, folder: str, head: str) -> HttpResponse:
    form = UploadForm(_data(request), request.FILES if request.method == "POST" else None, initial={"folder": folder})
    status = 200
    if request.method == "POST":
        outcome = _upload_files(request, form, repo=repo, branch=branch, head=head)
        if _wants_json(request):
            return outcome.as_json()
        if outcome.result is not None:
            return HttpResponseRedirect(outcome.url)
        status = outcome.status
    ctx = write_page_context(request, repo, branch=branch)
    ctx.update({"form": form, "folder": folder, "crumbs": breadcrumbs(ctx["links"], branch, folder),
                "action_url": ctx["links"].upload(branch, folder), "cancel_url": ctx["links"].tree(branch, folder)})
    return render(request, "repos/upload.html", ctx, status=status)


# ----------------------------------------------------------------------------- edit / new file


@login_required_page
@require_http_methods(["GET", "HEAD", "POST"])
def edit_file(request: HttpRequest, namespace: str, name: str, remainder: str, prefix: str | None = None
              ) -> HttpResponse:
    # The page shows the file: on a gated repository, only to those who may download it.
    repo = load_repo(request, prefix=prefix, namespace=namespace, name=name, action="contribute", files=True)
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
    ctx = write_page_context(request, repo, branch=branch)
    ctx.update({"form": form, "path": path, "crumbs": breadcrumbs(links, branch, path),
                "cancel_url": links.blob(branch, path), "action_url": links.edit(branch, path),
                "mode": "edit"})
    return render(request, "repos/edit_file.html", ctx, status=status)


@login_required_page
@require_http_methods(["GET", "HEAD", "POST"])
def new_file(request: HttpRequest, namespace: str, name: str, remainder: str, prefix: str | None = None
             ) -> HttpResponse:
    repo = load_repo(request, prefix=prefix, namespace=namespace, name=name, action="contribute")
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
    ctx = write_page_context(request, repo, branch=branch)
    ctx.update({"form": form, "folder": folder, "crumbs": breadcrumbs(links, branch, folder),
                "cancel_url": links.tree(branch, folder), "action_url": links.new_file(branch, folder),
                "mode": "new"})
    return render(request, "repos/edit_file.html", ctx, status=status)
