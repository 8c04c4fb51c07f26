"""The "Use this model / dataset" panel: what the repository holds, read from git once, turned
into snippets by the pure `repos.snippets`."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.utils.safestring import SafeString, mark_safe

from hub.http.urls import public_url
from repos.git import errors as git_errors
from repos.git.repository import GitRepo
from repos.handles import walk_limits
from repos.highlight import highlight_code
from repos.models import Repository
from repos.selectors.files import lfs_pointer_of
from repos.snippets import RepoFacts, Snippet, usage_snippets

# A config.json is a few kB; a bigger one (or one stored with LFS) is not read for a snippet.
MAX_CONFIG_BYTES = 256 * 1024


def _read_config(git: GitRepo, sha: str) -> dict[str, Any] | None:
    entry = git.get_entry(sha, "config.json")
    if entry is None or entry.type != "file" or entry.size > MAX_CONFIG_BYTES or lfs_pointer_of(git, entry):
        return None
    try:
        data = json.loads(git.read_blob(entry.oid))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


@dataclass(frozen=True)
class SnippetView:
    snippet: Snippet
    html: SafeString  # the code highlighted (escaped by Pygments)


@dataclass(frozen=True)
class UsagePanel:
    library: str
    items: list[SnippetView]


def repo_usage(*, repo: Repository, git: GitRepo, sha: str) -> UsagePanel:
    """Snippets for the repository at `sha` (its default branch head), naming only its files."""
    try:
        entries = git.list_tree(sha, "", limits=walk_limits())
    except git_errors.TreeTooLarge:
        entries = []  # a root of many thousand entries: the generic snippets still apply
    files = frozenset(e.path for e in entries if e.type == "file")
    folders = frozenset(e.path for e in entries if e.type == "directory")
    facts = RepoFacts(
        repo_id=repo.repo_id, repo_type=repo.repo_type, endpoint=public_url(), clone_url=public_url(repo.url_path),
        files=files, folders=folders, config=_read_config(git, sha) if "config.json" in files else None,
        pipeline_tag=repo.pipeline_tag or "", library_name=repo.library_name or "",
        private=repo.private, gated=bool(repo.gated),
    )
    usage = usage_snippets(facts)
    return UsagePanel(library=usage.library, items=[
        SnippetView(snippet=s, html=mark_safe(highlight_code(s.code, s.language)))  # noqa: S308 - pygments escapes
        for s in usage.snippets])
