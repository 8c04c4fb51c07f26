"""Read pages of one repository: model/dataset card, file tree, file view."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_safe

from accounts.permissions import request_principal
from hub.exceptions import EntryNotFound
from hub.http.inputs import query_bool
from hub.http.urls import public_url
from repos.git.errors import RevisionNotFound as GitRevisionNotFound
from repos.handles import git_repo
from repos.models import Repository
from repos.revisions import git_errors_as_http, split_revision_path
from repos.selectors.access import access_request_of
from repos.views import browse
from repos.views.context import breadcrumbs, human_count, load_repo, repo_header


@require_safe
def repo_home(request: HttpRequest, namespace: str, name: str, prefix: str | None = None) -> HttpResponse:
    repo = load_repo(request, prefix=prefix, namespace=namespace, name=name)
    git = git_repo(repo)
    ctx = repo_header(request, repo, tab="card")
    try:
        sha = git.resolve(repo.default_branch)
    except GitRevisionNotFound:
        sha = None
    if sha is not None:
        with git_errors_as_http():
            ctx["card"] = browse.repo_card(git=git, sha=sha, links=ctx["links"], rev=repo.default_branch)
            ctx["last_commit"] = git.commit_info(sha)
            ctx["last_commit_url"] = ctx["links"].commit(sha)
    if repo.gated and not ctx["can_download"]:
        user, _token = request_principal(request)
        ctx["access_request"] = access_request_of(repo=repo, user=user) if user.is_authenticated else None
        ctx["ask_access_url"] = f"/api/{repo.api_plural}/{repo.repo_id}/ask-access"
    ctx.update({
        "sha": sha,
        "readme_new_url": ctx["links"].new_file(repo.default_branch) + "?filename=README.md",
        "readme_url": ctx["links"].blob(repo.default_branch, "README.md"),
        "upload_url": ctx["links"].upload(repo.default_branch),
        "endpoint": public_url(),
        "parameters": _parameters(repo),
        "snippet_filename": "README.md" if repo.repo_type == "dataset" else "config.json",
    })
    return render(request, "repos/repo_home.html", ctx)


def _parameters(repo: Repository) -> str:
    """The indexed safetensors parameter count (filled by the analysis task), for display."""
    total = (repo.safetensors or {}).get("total") if isinstance(repo.safetensors, dict) else None
    return human_count(total) if isinstance(total, int) and total > 0 else ""


def _resolve(git, remainder: str) -> tuple[str, str, str]:
    with git_errors_as_http():
        rev, path = split_revision_path(git, remainder)
        sha = git.resolve(rev)
    return rev, path.strip("/"), sha


@require_safe
def tree(request: HttpRequest, namespace: str, name: str, remainder: str, prefix: str | None = None) -> HttpResponse:
    repo = load_repo(request, prefix=prefix, namespace=namespace, name=name)
    git = git_repo(repo)
    rev, path, sha = _resolve(git, remainder)
    ctx = repo_header(request, repo, tab="files", rev=rev)
    links = ctx["links"]
    with git_errors_as_http():
        entry = git.get_entry(sha, path)
        if entry is None:
            raise EntryNotFound(f"{path} does not exist at {rev}")
        if entry.type == "file":
            return HttpResponseRedirect(links.blob(rev, path))
        rows, total = browse.tree_rows(git=git, links=links, sha=sha, rev=rev, path=path)
        latest = browse.latest_commit(git=git, sha=sha, path=path)
        refs = browse.ref_choices(git=git, links=links, current=rev, path=path)
        on_branch = rev in {r["name"] for r in refs["branches"]}
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    ctx.update({
        "sha": sha, "path": path, "rows": rows, "total": total, "truncated": total > len(rows),
        "latest": latest, "latest_url": links.commit(latest.sha) if latest else "",
        "refs": refs, "crumbs": breadcrumbs(links, rev, path),
        "parent_url": links.tree(rev, parent) if path else "",
        "history_url": links.commits(rev, path),
        "on_branch": on_branch,
        "upload_url": links.upload(rev, path) if on_branch else "",
        "new_file_url": links.new_file(rev, path) if on_branch else "",
    })
    return render(request, "repos/tree.html", ctx)


@require_safe
def blob(request: HttpRequest, namespace: str, name: str, remainder: str, prefix: str | None = None) -> HttpResponse:
    repo = load_repo(request, prefix=prefix, namespace=namespace, name=name)
    git = git_repo(repo)
    rev, path, sha = _resolve(git, remainder)
    ctx = repo_header(request, repo, tab="files", rev=rev)
    links = ctx["links"]
    with git_errors_as_http():
        entry = git.get_entry(sha, path) if path else None
        if entry is None:
            raise EntryNotFound(f"{path or '(empty path)'} does not exist at {rev}")
        if entry.type == "directory":
            return HttpResponseRedirect(links.tree(rev, path))
        code = query_bool(request.GET.get("code"))
        if ctx["can_download"]:
            view = browse.file_view(repo=repo, git=git, entry=entry, links=links, rev=rev, code=code)
        else:
            view = browse.gated_view(git=git, entry=entry)
        latest = browse.latest_commit(git=git, sha=sha, path=path)
        refs = browse.ref_choices(git=git, links=links, current=rev, path=path, view="blob")
        on_branch = rev in {r["name"] for r in refs["branches"]}
    ctx.update({
        "sha": sha, "path": path, "filename": path.rsplit("/", 1)[-1], "view": view, "code": code,
        "latest": latest, "latest_url": links.commit(latest.sha) if latest else "",
        "refs": refs, "crumbs": breadcrumbs(links, rev, path),
        "raw_url": links.resolve(rev, path),
        "download_url": links.resolve(rev, path, download=True),
        "history_url": links.commits(rev, path),
        "edit_url": links.edit(rev, path) if on_branch and view.editable and ctx["can_write"] else "",
        "code_url": f"{links.blob(rev, path)}?code=true" if view.kind == "markdown" else "",
        "preview_url": links.blob(rev, path) if code and path.lower().endswith((".md", ".markdown")) else "",
    })
    return render(request, "repos/blob.html", ctx)
