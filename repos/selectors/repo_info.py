"""A repository at a revision: what `model_info` / `dataset_info` report."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from django.conf import settings

from repos.cards import card_index, split_front_matter
from repos.git import errors as git_errors
from repos.git.repository import GitRepo
from repos.handles import walk_limits
from repos.models import Repository
from repos.selectors.files import RepoEntry, repo_entry
from repos.selectors.sql import column, quote_name

_MAX_README = 1024 * 1024


@dataclass(frozen=True)
class RevisionCard:
    """Card metadata and the facets derived from it, at one revision."""

    card_data: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    pipeline_tag: str = ""
    library_name: str = ""

    @classmethod
    def of_repo(cls, repo: Repository) -> RevisionCard:
        """The database index (the default branch head)."""
        return cls(card_data=repo.card_data or {}, tags=list(repo.tags or []), pipeline_tag=repo.pipeline_tag,
                   library_name=repo.library_name)


@dataclass(frozen=True)
class RepoInfo:
    repo: Repository
    sha: str | None  # None only for a repository whose default branch has no commit
    card: RevisionCard
    files: list[RepoEntry] | None  # every file, recursively; None when not asked for
    files_truncated: bool = False  # the listing stopped at the walk limits


def repo_info(*, repo: Repository, git: GitRepo, revision: str | None = None, with_files: bool = True,
              with_blobs: bool = False) -> RepoInfo:
    """Resolve `revision` (default branch when None) and describe the repo there.

    Raises the git layer's RevisionNotFound for an unknown explicit revision. Card data comes
    from the database index at the default branch head and is read from git otherwise, so a
    revision's info describes that revision. `with_blobs` adds LFS detection (reads pointers).
    """
    if revision is None:
        try:
            sha: str | None = git.resolve(repo.default_branch)
        except git_errors.RevisionNotFound:
            sha = None  # an empty repository still has an info page
    else:
        sha = git.resolve(revision)
    card = RevisionCard.of_repo(repo) if sha is None or sha == repo.head_sha else _card_at(git, repo, sha)
    files = None
    truncated = False
    if with_files and sha is not None:
        files = []
        limits = walk_limits()
        limits = replace(limits, max_paths=min(limits.max_paths, int(settings.HUB_INFO_MAX_SIBLINGS)))
        try:
            for entry in git.iter_files(sha, limits=limits):
                files.append(repo_entry(git, entry, detect_lfs=with_blobs))
        except git_errors.TreeTooLarge:
            truncated = True  # what was walked is listed; the answer says the rest is missing
    elif with_files:
        files = []
    return RepoInfo(repo=repo, sha=sha, card=card, files=files, files_truncated=truncated)


def _card_at(git: GitRepo, repo: Repository, sha: str) -> RevisionCard:
    readme = git.get_entry(sha, "README.md")
    data: dict[str, Any] = {}
    if readme is not None and readme.type == "file" and readme.size <= _MAX_README:
        parsed, _body, _error = split_front_matter(git.read_blob(readme.oid).decode("utf-8", "replace"))
        data = parsed if isinstance(parsed, dict) else {}
    index = card_index(data, repo.repo_type)
    return RevisionCard(card_data=data, tags=index.tags, pipeline_tag=index.pipeline_tag or "",
                        library_name=index.library_name or "")


def repo_get_by_id(*, repo_type: str, namespace: str, name: str) -> Repository | None:
    """The repository with this exact id, or None: what `Repository.objects.get(repo_type=,
    namespace=, name=)` returns, for the permission gate that runs on every request.

    The ORM builds and compiles that unchanging query anew each time, which cost more CPU
    than running it (~0.3-0.6 ms of a 1.5 ms metadata request, bench/metadata.py); a raw
    query on the unique key skips the compiler and still converts every column like the ORM.
    """
    meta = Repository._meta
    columns = ", ".join(column(Repository, f.name) for f in meta.concrete_fields)
    where = " AND ".join(f"{column(Repository, f)} = %s" for f in ("repo_type", "namespace", "name"))
    sql = f"SELECT {columns} FROM {quote_name(Repository, meta.db_table)} WHERE {where}"
    for repo in Repository.objects.raw(sql, [repo_type, namespace, name]):
        return repo
    return None


def repo_get_by_id_any_case(*, repo_type: str, namespace: str, name: str) -> Repository | None:
    """The repository whose id equals this one ignoring letter case, or None.

    The Hub treats repo ids case-insensitively: `Alice/Tiny` reaches `alice/tiny` (reads are
    redirected to the canonical spelling, writes act on it). Asked only after the exact
    lookup missed, so the hot path keeps its single precompiled query; `repo_create` refuses
    a second spelling, so at most one repository matches.
    """
    return (Repository.objects.filter(repo_type=repo_type, namespace__iexact=namespace, name__iexact=name)
            .order_by("pk").first())


# Listings walk one tree per repository: each walk is bounded tighter than a single info's.
LISTING_MAX_SIBLINGS = 1000


def repo_sibling_paths(*, repo: Repository, git: GitRepo) -> list[str]:
    """The file paths at the default branch head, for `list_models(full=True)` (`siblings`):
    bounded like `repo_info`'s walk and at most LISTING_MAX_SIBLINGS; an empty or unreadable
    repository lists none rather than failing the whole page."""
    if not repo.head_sha:
        return []
    limits = walk_limits()
    limits = replace(limits, max_paths=min(limits.max_paths, LISTING_MAX_SIBLINGS))
    paths: list[str] = []
    try:
        for entry in git.iter_files(repo.head_sha, limits=limits):
            paths.append(entry.path)
    except git_errors.TreeTooLarge:
        pass  # the paths walked so far
    except git_errors.GitError:
        return []
    return paths
