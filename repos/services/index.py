"""Refresh the database index of a repository from git (git is the source of truth).

Two steps, so that no database write lock is held while git is walked (with SQLite every
write transaction takes the database lock at its start): `repo_index_read` walks the default
branch (bounded by the walk limits) outside any transaction, `repo_index_write` stores what it
read inside the writer's transaction. `repo_reindex` does both, for callers without a
transaction of their own.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from repos.cards import card_facets, card_index, split_front_matter
from repos.git.errors import GitError, TreeTooLarge
from repos.git.repository import GitRepo
from repos.handles import walk_limits
from repos.lfs.pointer import parse_pointer
from repos.models import RepoFacet, Repository
from repos.selectors.repo_list import parameter_count

logger = logging.getLogger(__name__)

_MAX_README = 1024 * 1024
# LFS pointers are ~130 bytes: smaller blobs are read to count their object's size instead.
_POINTER_MAX = 200


@dataclass(frozen=True)
class IndexSnapshot:
    """What the index holds about the default branch at one head."""

    head: str
    card_data: dict[str, Any] = field(default_factory=dict)
    used_storage: int = 0


def repo_index_read(*, repo: Repository, git: GitRepo) -> IndexSnapshot:
    """Read the default branch's head, card data and storage size from git. Bounded: a tree
    past the walk limits counts what was walked before the limit (logged), never more."""
    try:
        head = git.resolve(repo.default_branch)
    except GitError:
        return IndexSnapshot(head="")
    used = 0
    try:
        for entry in git.iter_files(head, limits=walk_limits()):
            size = entry.size
            if size < _POINTER_MAX:
                pointer = parse_pointer(git.read_blob(entry.oid))
                if pointer is not None:
                    size = pointer.size
            used += size
    except TreeTooLarge as exc:
        logger.warning("storage of %s counted partially: %s", repo, exc)
    card_data: dict[str, Any] = {}
    readme = git.get_entry(head, "README.md")
    if readme is not None and readme.type == "file" and readme.size <= _MAX_README:
        data, _body, _error = split_front_matter(git.read_blob(readme.oid).decode("utf-8", "replace"))
        card_data = data if isinstance(data, dict) else {}
    return IndexSnapshot(head=head, card_data=card_data, used_storage=used)


def repo_index_write(*, repo: Repository, snapshot: IndexSnapshot) -> Repository:
    """Store `snapshot` (inside the writer's transaction, after the ref moved)."""
    index = card_index(snapshot.card_data, repo.repo_type)
    repo.head_sha = snapshot.head
    repo.card_data = snapshot.card_data
    repo.tags = index.tags
    repo.pipeline_tag = index.pipeline_tag or ""
    repo.library_name = index.library_name or ""
    repo.used_storage = snapshot.used_storage
    repo.last_modified = timezone.now()
    repo.save(update_fields=["head_sha", "card_data", "tags", "pipeline_tag", "library_name",
                             "used_storage", "last_modified"])
    repo_facets_write(repo=repo)
    return repo


def repo_facets_write(*, repo: Repository) -> None:
    """Rebuild the search facets of `repo` from its indexed card data, size and weights summary
    (inside the index writer's or the analysis' transaction, so a search never sees half of
    them)."""
    facets = card_facets(repo.card_data, repo.repo_type, repo.used_storage, parameter_count(repo))
    RepoFacet.objects.filter(repository=repo).delete()
    RepoFacet.objects.bulk_create([RepoFacet(repository=repo, facet=kind, value=value)
                                   for kind, values in facets.items() for value in values])


def repo_reindex(*, repo: Repository, git: GitRepo) -> Repository:
    """Read then store the index of the default branch (callers that hold no transaction;
    writers inside one read first, then write in it)."""
    snapshot = repo_index_read(repo=repo, git=git)
    with transaction.atomic():
        return repo_index_write(repo=repo, snapshot=snapshot)
