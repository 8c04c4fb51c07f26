"""`/datasets/{ns}/{name}/personal-data`: the personal-data report of a dataset, per file and
column, and the owner's actions (a redaction pull request, the clean-report rule).

Readers see counts and statuses; writers also see masked examples
(`safety.dataset_selectors` says why); the forms need the gate's "settings" action (repo
admins), like the API's. Each POST calls one service and redirects back with a message; a
refusal (HubError) becomes an error message, never a 500.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST, require_safe

from accounts.permissions import request_principal, require_signed_in
from hub.exceptions import BadRequest
from hub.http.client import client_ip
from hub.http.pages import change_and_return, login_required_page
from repos.gate import Action, can_manage, can_write
from repos.models import Repository
from repos.views.context import load_repo, repo_header
from safety.dataset_redaction import recent_redactions, redaction_request
from safety.dataset_reports import privacy_settings_update
from safety.dataset_selectors import personal_data_overview
from safety.entities import UNSUPPORTED

_MODES = [("mask", "Mask: replace each value by its type, e.g. <EMAIL_ADDRESS>"),
          ("pseudonym", "Pseudonyms: the same value always becomes the same pseudonym (keyed by this "
                        "repository's secret)")]


def page_url(repo: Repository) -> str:
    return f"/{repo.url_path}/personal-data"


def _repo(request: HttpRequest, kwargs: dict[str, Any], action: Action) -> Repository:
    return load_repo(request, prefix=kwargs.get("prefix"), namespace=kwargs["namespace"], name=kwargs["name"],
                     action=action)


@require_safe
def personal_data(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    repo = _repo(request, kwargs, "read")
    user, token = request_principal(request)
    manage = can_manage(user, repo, token=token)
    ctx = repo_header(request, repo, tab="personal-data")
    overview = personal_data_overview(repo=repo, revision=None, examples=can_write(user, repo, token=token))
    links = ctx["links"]
    redactions = [{"job": r, "pr_url": links.discussion(r.pull_request_num) if r.pull_request_num else None}
                  for r in recent_redactions(repo=repo)] if manage else []
    ctx.update({
        "overview": overview, "can_manage": manage, "page_url": page_url(repo), "modes": _MODES,
        "redactions": redactions, "unsupported": sorted(UNSUPPORTED.items()),
        "has_findings": any(f["status"] == "findings" for f in overview["files"]),
    })
    return render(request, "safety/personal_data.html", ctx)


def _change(request: HttpRequest, repo: Repository, change: Callable[[], str]) -> HttpResponse:
    return change_and_return(request, change, page_url(repo))


@login_required_page
@require_POST
def redact(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    repo = _repo(request, kwargs, "settings")
    user, _token = require_signed_in(request)
    mode = request.POST.get("mode", "mask")

    def change() -> str:
        if mode not in dict(_MODES):
            raise BadRequest("Choose masking or pseudonyms")
        redaction_request(repo=repo, user=user, mode=mode, ip=client_ip(request))
        return "Redaction started: its pull request will be listed below when it is ready."
    return _change(request, repo, change)


@login_required_page
@require_POST
def privacy_settings(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    repo = _repo(request, kwargs, "settings")
    user, _token = require_signed_in(request)
    required = request.POST.get("require_clean_report") == "on"

    def change() -> str:
        privacy_settings_update(repo=repo, require_clean=required, actor=user, ip=client_ip(request))
        return ("A clean report is now required before this dataset can be made public." if required
                else "A clean report is no longer required before going public.")
    return _change(request, repo, change)
