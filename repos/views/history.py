"""History pages: the commit list of a revision (optionally of one path) and one commit's diff."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from repos.links import RepoLinks, breadcrumbs
from repos.selectors import pages
from repos.views.context import load_repo, repo_header


def _page_number(request: HttpRequest) -> int:
    try:
        return max(0, min(int(request.GET.get("p", "0")), 100_000))
    except ValueError:
        return 0


@require_safe
def commits(request: HttpRequest, namespace: str, name: str, remainder: str,
            prefix: str | None = None) -> HttpResponse:
    repo = load_repo(request, prefix=prefix, namespace=namespace, name=name)
    page_number = _page_number(request)
    links = RepoLinks(repo)
    page = pages.commits_page(repo=repo, remainder=remainder, links=links, page=page_number)
    rev, path = page.at.rev, page.at.path
    ctx = repo_header(request, repo, tab="files", rev=rev)
    ctx.update({
        "sha": page.at.sha, "path": path, "rows": page.rows, "page": page_number, "refs": page.refs,
        "crumbs": breadcrumbs(links, rev, path) if path else [],
        "next_url": links.commits(rev, path, page_number + 1) if page.has_next else "",
        "prev_url": links.commits(rev, path, page_number - 1) if page_number > 0 else "",
    })
    return render(request, "repos/commits.html", ctx)


@require_safe
def commit(request: HttpRequest, namespace: str, name: str, rev: str, prefix: str | None = None) -> HttpResponse:
    repo = load_repo(request, prefix=prefix, namespace=namespace, name=name)
    page = pages.commit_detail(repo=repo, rev=rev)
    ctx = repo_header(request, repo, tab="files")
    if not ctx["can_download"]:
        for change in page.changes:  # file contents of a gated repository stay hidden
            change.lines = []
    links = ctx["links"]
    info = page.info
    body = info.message.partition("\n")[2].strip()
    ctx.update({
        "sha": page.sha, "info": info, "body": body, "changes": page.changes, "hidden": page.hidden,
        "too_large": page.too_large,
        "parents": [{"sha": p, "short": p[:7], "url": links.commit(p)} for p in info.parents],
        "browse_url": links.tree(page.sha),
        # Pointer lines of LFS files are not the file's content: leave them out of the totals.
        "additions": sum(c.additions for c in page.changes if not c.is_lfs),
        "deletions": sum(c.deletions for c in page.changes if not c.is_lfs),
    })
    return render(request, "repos/commit.html", ctx)
