"""The like button of repository pages (the API's `.../like` for browsers)."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_POST

from accounts.permissions import require_signed_in
from hub.http.pages import login_required_page
from repos.links import RepoLinks
from repos.services.likes import repo_like, repo_unlike
from repos.views.context import load_repo


@login_required_page
@require_POST
def like(request: HttpRequest, namespace: str, name: str, prefix: str | None = None) -> HttpResponse:
    """Like (`liked=1`) or unlike (`liked=0`) the repository, back to its page."""
    user, _token = require_signed_in(request)
    repo = load_repo(request, prefix=prefix, namespace=namespace, name=name)
    if request.POST.get("liked") == "0":
        repo_unlike(repo=repo, user=user)
    else:
        repo_like(repo=repo, user=user)
    return HttpResponseRedirect(RepoLinks(repo).base)
