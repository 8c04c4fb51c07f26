"""History pages: the commit list of a revision (optionally of one path) and one commit's diff."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from repos.handles import git_repo
from repos.revisions import git_errors_as_http, split_revision_path
from repos.views import browse
from repos.views.commits_data import commit_changes, commit_page
from repos.views.context import breadcrumbs, load_repo, repo_header


def _page_number(request: HttpRequest) -> int:
    try:
        return max(0, min(int(request.GET.get("p", "0")), 100_000))
    except ValueError:
        return 0


@require_safe
def commits(request: HttpRequest, namespace: str, name: str, remainder: str,
            prefix: str | None = None) -> HttpResponse:
    repo = load_repo(request, prefix=prefix, namespace=namespace, name=name)
    git = git_repo(repo)
    page = _page_number(request)
    with git_errors_as_http():
        rev, path = split_revision_path(git, remainder)
        path = path.strip("/")
        sha = git.resolve(rev)
        ctx = repo_header(request, repo, tab="files", rev=rev)
        links = ctx["links"]
        rows, has_next = commit_page(git=git, links=links, sha=sha, path=path, page=page)
        refs = browse.ref_choices(git=git, links=links, current=rev, path=path, view="commits")
    ctx.update({
        "sha": sha, "path": path, "rows": rows, "page": page, "refs": refs,
        "crumbs": breadcrumbs(links, rev, path) if path else [],
        "next_url": links.commits(rev, path, page + 1) if has_next else "",
        "prev_url": links.commits(rev, path, page - 1) if page > 0 else "",
    })
    return render(request, "repos/commits.html", ctx)


@require_safe
def commit(request: HttpRequest, namespace: str, name: str, rev: str, prefix: str | None = None) -> HttpResponse:
    repo = load_repo(request, prefix=prefix, namespace=namespace, name=name)
    git = git_repo(repo)
    with git_errors_as_http():
        sha = git.resolve(rev)
        info = git.commit_info(sha)
        changes, hidden = commit_changes(git=git, info=info)
    ctx = repo_header(request, repo, tab="files")
    if not ctx["can_download"]:
        for change in changes:  # file contents of a gated repository stay hidden
            change.lines = []
    links = ctx["links"]
    body = info.message.partition("\n")[2].strip()
    ctx.update({
        "sha": sha, "info": info, "body": body, "changes": changes, "hidden": hidden,
        "parents": [{"sha": p, "short": p[:7], "url": links.commit(p)} for p in info.parents],
        "browse_url": links.tree(sha),
        # Pointer lines of LFS files are not the file's content: leave them out of the totals.
        "additions": sum(c.additions for c in changes if not c.is_lfs),
        "deletions": sum(c.deletions for c in changes if not c.is_lfs),
    })
    return render(request, "repos/commit.html", ctx)
