"""Read pages of one repository: model/dataset card, file tree, file view."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_safe

from accounts.permissions import request_principal
from hub.http.inputs import query_bool
from repos.links import RepoLinks, breadcrumbs
from repos.models import Repository
from repos.selectors import pages
from repos.selectors.access import access_request_of
from repos.selectors.repo_list import parameter_count
from repos.tabular.preview import preview_format
from repos.views.context import header_at_revision, load_repo, repo_header
from repos.views.files import may_propose


@require_safe
def repo_home(request: HttpRequest, namespace: str, name: str, prefix: str | None = None) -> HttpResponse:
    repo = load_repo(request, prefix=prefix, namespace=namespace, name=name)
    ctx = repo_header(request, repo, tab="card")
    home = pages.home_page(repo=repo, links=ctx["links"], can_download=ctx["can_download"])
    if home.sha is not None:
        ctx.update({"card": home.card, "last_commit": home.last_commit, "usage": home.usage, "viewer": home.viewer,
                    "last_commit_url": ctx["links"].commit(home.sha)})
    if repo.gated and not ctx["can_download"]:
        user, _token = request_principal(request)
        ctx["access_request"] = access_request_of(repo=repo, user=user) if user.is_authenticated else None
        ctx["ask_access_url"] = f"/api/{repo.api_plural}/{repo.repo_id}/ask-access"
    ctx.update({
        "sha": home.sha,
        "readme_new_url": ctx["links"].new_file(repo.default_branch) + "?filename=README.md",
        "readme_url": ctx["links"].blob(repo.default_branch, "README.md"),
        "upload_url": ctx["links"].upload(repo.default_branch),
        "parameters": parameter_count(repo),
    })
    return render(request, "repos/repo_home.html", ctx)


@require_safe
def tree(request: HttpRequest, namespace: str, name: str, remainder: str, prefix: str | None = None) -> HttpResponse:
    repo = load_repo(request, prefix=prefix, namespace=namespace, name=name)
    links = RepoLinks(repo)
    page = pages.tree_page(repo=repo, remainder=remainder, links=links)
    rev, path = page.at.rev, page.at.path
    if page.is_file:
        return HttpResponseRedirect(links.blob(rev, path))
    ctx = repo_header(request, repo, tab="files", rev=rev)
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    ctx.update({
        "sha": page.at.sha, "path": path, "rows": page.rows, "total": page.total,
        "truncated": page.total > len(page.rows),
        "latest": page.latest, "latest_url": links.commit(page.latest.sha) if page.latest else "",
        "refs": page.refs, "crumbs": breadcrumbs(links, rev, path),
        "parent_url": links.tree(rev, parent) if path else "",
        "history_url": links.commits(rev, path),
        "on_branch": page.on_branch,
        "upload_url": links.upload(rev, path) if page.on_branch else "",
        "new_file_url": links.new_file(rev, path) if page.on_branch else "",
    })
    ctx.update(_change_links(request, repo, ctx, rev=rev, path=path, on_branch=page.on_branch, folder=True))
    return render(request, "repos/tree.html", ctx)


def _change_links(request: HttpRequest, repo: Repository, ctx: dict, *, rev: str, path: str, on_branch: bool,
                  folder: bool) -> dict[str, object]:
    """Links to the pages that change a file or folder, for those who may commit or propose a
    pull request (`repos.views.files`); renaming copies bytes, so it needs access to them."""
    user, token = request_principal(request)
    propose = on_branch and may_propose(user, repo, token=token, writable=ctx["can_write"])
    links = ctx["links"]
    return {
        "can_propose": propose,
        "delete_url": links.delete(rev, path) if propose and path else "",
        "rename_url": links.rename(rev, path) if propose and path and ctx["can_download"] else "",
        "folder": folder,
    }


@require_safe
def blob(request: HttpRequest, namespace: str, name: str, remainder: str, prefix: str | None = None) -> HttpResponse:
    repo = load_repo(request, prefix=prefix, namespace=namespace, name=name)
    ctx = repo_header(request, repo, tab="files")
    links = ctx["links"]
    code = query_bool(request.GET.get("code"))
    page = pages.blob_page(repo=repo, remainder=remainder, links=links, can_download=ctx["can_download"], code=code)
    rev, path = page.at.rev, page.at.path
    if page.is_dir:
        return HttpResponseRedirect(links.tree(rev, path))
    view = page.view
    assert view is not None
    header_at_revision(ctx, rev)
    ctx.update({
        "sha": page.at.sha, "path": path, "filename": path.rsplit("/", 1)[-1], "view": view, "code": code,
        "security": page.security,
        "latest": page.latest, "latest_url": links.commit(page.latest.sha) if page.latest else "",
        "refs": page.refs, "crumbs": breadcrumbs(links, rev, path),
        "raw_url": links.resolve(rev, path),
        "download_url": links.resolve(rev, path, download=True),
        "history_url": links.commits(rev, path),
        "edit_url": "",
        "code_url": f"{links.blob(rev, path)}?code=true" if view.kind == "markdown" else "",
        "preview_url": links.blob(rev, path) if code and path.lower().endswith((".md", ".markdown")) else "",
        "table": page.table,
    })
    if page.table is not None and view.kind == "text":
        ctx["code_url"] = f"{links.blob(rev, path)}?code=true"  # the data file's text
    elif code and view.kind == "text" and preview_format(path):
        ctx["preview_url"] = links.blob(rev, path)
    ctx.update(_change_links(request, repo, ctx, rev=rev, path=path, on_branch=page.on_branch, folder=False))
    if ctx["can_propose"] and view.editable and ctx["can_download"]:
        ctx["edit_url"] = links.edit(rev, path)
    return render(request, "repos/blob.html", ctx)
