"""`/{ns}/{name}/security`: the scan report of a revision (flagged files for readers, masked
secrets for writers), and `/{ns}/{name}/settings/security`: the owner's "block unsafe files".
Views parse, authorize (`repos.gate` through `load_repo`), call a selector or service, render."""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_POST, require_safe

from accounts.permissions import request_principal
from hub.http.pages import login_required_page
from repos.gate import can_manage
from repos.views.context import load_repo, repo_header
from safety.selectors import blocks_unsafe_files, security_report
from safety.services import safety_settings_update


def security_url(repo_url_path: str) -> str:
    return f"/{repo_url_path}/security"


@require_safe
def security_page(request: HttpRequest, namespace: str, name: str, prefix: str | None = None) -> HttpResponse:
    repo = load_repo(request, prefix=prefix, namespace=namespace, name=name)
    ctx = repo_header(request, repo, tab="security")
    rev = (request.GET.get("rev") or repo.default_branch)[:255]
    user, token = request_principal(request)
    report = security_report(repo=repo, revision=rev, with_secrets=ctx["can_write"])
    ctx.update({
        "rev": rev,
        "report": report,
        "flagged": [(row, ctx["links"].blob(rev, row.path)) for row in report.flagged],
        "can_manage": ctx["can_write"] and can_manage(user, repo, token=token),
        "block_unsafe_files": blocks_unsafe_files(repo),
    })
    return render(request, "safety/security.html", ctx)


@login_required_page
@require_POST
def security_settings(request: HttpRequest, namespace: str, name: str, prefix: str | None = None,
                      **_: Any) -> HttpResponse:
    repo = load_repo(request, prefix=prefix, namespace=namespace, name=name, action="settings")
    block = request.POST.get("block_unsafe_files") in ("on", "1", "true")
    safety_settings_update(repo=repo, block_unsafe_files=block)
    messages.success(request, "Unsafe files are now refused." if block else "Unsafe files are now only flagged.")
    return HttpResponseRedirect(security_url(repo.url_path))
