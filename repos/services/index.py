"""Refresh the database index of a repository from git (git is the source of truth)."""
from __future__ import annotations

from django.utils import timezone

from repos.cards import card_index, split_front_matter
from repos.git.repository import GitRepo
from repos.lfs.pointer import parse_pointer
from repos.models import Repository

_MAX_README = 1024 * 1024


def repo_reindex(*, repo: Repository, git: GitRepo) -> Repository:
    """Update head, last-modified, card data, tags and storage size from the default branch.

    Called inside the transaction of every write that moves the default branch (API commit,
    push, merge, create), after the ref moved. Work that reacts to the move (the weights
    analysis, ...) subscribes to the event door instead.
    """
    try:
        head = git.resolve(repo.default_branch)
    except Exception:
        head = ""
    card_data: dict = {}
    used = 0
    if head:
        for entry in git.iter_files(head):
            size = entry.size
            if size < 200:  # LFS pointers are ~130 bytes; never read real blobs here
                pointer = parse_pointer(git.read_blob(entry.oid))
                if pointer is not None:
                    size = pointer.size
            used += size
        readme = git.get_entry(head, "README.md")
        if readme is not None and readme.size <= _MAX_README:
            data, _body, _error = split_front_matter(git.read_blob(readme.oid).decode("utf-8", "replace"))
            card_data = data if isinstance(data, dict) else {}
    index = card_index(card_data, repo.repo_type)
    repo.head_sha = head
    repo.card_data = card_data
    repo.tags = index.tags
    repo.pipeline_tag = index.pipeline_tag or ""
    repo.library_name = index.library_name or ""
    repo.used_storage = used
    repo.last_modified = timezone.now()
    repo.save(update_fields=["head_sha", "card_data", "tags", "pipeline_tag", "library_name",
                             "used_storage", "last_modified"])
    return repo
