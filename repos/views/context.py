"""What every repository page shares: URL parsing, access, links and the page header.

Views call `load_repo` (fetch + authorize through `repos.gate`) and `repo_header`
(tabs, permission booleans, clone URL) so templates never decide anything themselves.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest

from accounts.permissions import request_principal
from hub.http.urls import public_url
from repos.gate import Action, can_download, can_manage, can_write, repo_from_request
from repos.links import RepoLinks
from repos.models import Repository, RepoType
from repos.models.repository import repo_type_for_prefix
from repos.selectors.likes import user_liked

# URL prefix segment -> repository type ("" is a model).
TYPE_BY_PREFIX = {"": RepoType.MODEL, "datasets": RepoType.DATASET, "spaces": RepoType.SPACE}
TYPE_LABEL = {RepoType.MODEL: "Model", RepoType.DATASET: "Dataset", RepoType.SPACE: "Space"}


def load_repo(request: HttpRequest, *, prefix: str | None, namespace: str, name: str,
              action: Action = "read", files: bool = False) -> Repository:
    """The repository named by the URL, if the requester may `action` it (and, with `files`,
    read its file bytes: gated repositories) (`repos.gate.repo_from_request`, surface "html").

    Missing and hidden raise the same RepoNotFound (rendered as the site's 404 page); an old
    name of a moved repository redirects to the same page under its current name.
    """
    return repo_from_request(request, repo_type=repo_type_for_prefix(prefix), namespace=namespace, name=name,
                             action=action, surface="html", files=files)


_CHIP_LABELS = {
    "license": "License", "language": "Language", "dataset": "Dataset", "base_model": "Base model",
    "task_categories": "Task", "task_ids": "Task", "size_categories": "Size",
}

# Tag prefixes that are search facets (repos.cards.card_facets), by facet.
_CHIP_FACETS = {"license": "license", "language": "language", "task_categories": "task",
                "size_categories": "size"}


def metadata_chips(repo: Repository) -> list[dict[str, str]]:
    """The card metadata as chips, from the database index of the default branch's README
    (`Repository.tags`, built by `repos.cards.card_index`): no git read on every page."""
    list_url = "/" + repo.api_plural
    chips = []
    for tag in repo.tags or []:
        if not isinstance(tag, str):
            continue
        prefix, sep, value = tag.partition(":")
        # Chips of a search facet open the listing filtered by that facet (combinable with
        # others there); any other tag filters by the tag itself.
        query: dict[str, str] = {"filter": tag}
        if sep and prefix in _CHIP_LABELS:
            label, text = _CHIP_LABELS[prefix], value
            if prefix in _CHIP_FACETS:
                query = {_CHIP_FACETS[prefix]: value}
        elif tag == repo.pipeline_tag:
            label, text, query = "Task", tag, {"task": tag}
        elif tag == repo.library_name:
            label, text, query = "Library", tag, {"library": tag}
        else:
            label, text = "", tag
        chips.append({"label": label, "text": text, "url": f"{list_url}?{urlencode(query)}"})
    return chips


CHIPS_SHOWN = 3  # per kind of metadata; the rest behind "+N", as on the Hub


def chip_groups(chips: list[dict[str, str]], *, shown: int = CHIPS_SHOWN) -> list[dict[str, Any]]:
    """Chips grouped by label in order of first appearance, each group showing its first
    `shown` chips and keeping the rest in `more` (a card listing 21 datasets shows 3 and
    "+18", not 21 chips filling the header)."""
    groups: dict[str, dict[str, Any]] = {}
    for chip in chips:
        group = groups.setdefault(chip["label"], {"label": chip["label"], "chips": [], "more": []})
        (group["chips"] if len(group["chips"]) < shown else group["more"]).append(chip)
    return list(groups.values())


def repo_header(request: HttpRequest, repo: Repository, *, tab: str, rev: str | None = None,
                writable: bool | None = None) -> dict[str, Any]:
    """Context shared by every repository page: header, tabs, permission booleans."""
    user, token = request_principal(request)
    links = RepoLinks(repo)
    rev = rev or repo.default_branch
    if writable is None:
        writable = can_write(user, repo, token=token)
    tabs: list[dict[str, Any]] = [
        {"key": "card", "label": "Model card" if repo.repo_type == RepoType.MODEL else "Dataset card",
         "url": links.base},
        {"key": "files", "label": "Files and versions", "url": links.tree(rev)},
        {"key": "community", "label": "Community", "url": links.discussions()},
    ]
    if repo.repo_type == RepoType.DATASET:  # the report page of `safety` (safety/dataset_views.py)
        tabs.append({"key": "personal-data", "label": "Personal data", "url": f"{links.base}/personal-data"})
    # The jobs app's page (jobs/views.py): evaluations and fine-tuning runs of this repository.
    tabs.append({"key": "jobs", "label": "Jobs", "url": f"{links.base}/jobs"})
    # Only writers pay for the settings check (the settings tab is for repository admins; a
    # fine-grained token with write access sees the settings it may change).
    if writable and can_manage(user, repo, token=token):
        tabs.append({"key": "settings", "label": "Settings", "url": f"{links.base}/settings"})
    for t in tabs:
        t["active"] = t["key"] == tab
    return {
        "repo": repo,
        "links": links,
        "type_label": TYPE_LABEL.get(RepoType(repo.repo_type), "Repository"),
        "can_write": writable,
        # Gated repositories show their card and file list, not file contents.
        "can_download": writable or can_download(user, repo, token=token),
        "tabs": tabs,
        "chip_groups": chip_groups(metadata_chips(repo)),
        "rev": rev,
        "clone_url": public_url(repo.url_path),
        "tab": tab,
        # The like button and the popularity numbers (downloads counted by repos.downloads).
        "liked": user_liked(repo=repo, user=user),
    }


def header_at_revision(ctx: dict[str, Any], rev: str) -> None:
    """Point a `repo_header` context at `rev` once a page has resolved it (the header is built
    first when the page needs its permission booleans to choose what to read)."""
    ctx["rev"] = rev
    for tab in ctx["tabs"]:
        if tab["key"] == "files":
            tab["url"] = ctx["links"].tree(rev)
