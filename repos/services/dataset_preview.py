"""The dataset viewer's previews, computed once per file content and cached.

A preview (first rows, column types, row count: `repos.tabular.preview`) depends only on the
file's bytes, so it is cached under the content's id (the LFS sha256, or the git blob id) and
shared by every revision, branch and repository holding the same file. Small files are read in
the request; larger ones by the worker (`repos.dataset_preview` on the default queue), the page
showing "being prepared" until the result is in the cache. A file that cannot be read as its
format is cached as an error with the reason, shown on the page, never a 500.

Bytes come through the byte door (LFS) or git (small regular files), streamed: nothing is read
whole into memory beyond the preview's own bounds.
"""
from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass
from typing import BinaryIO, Literal

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from repos import objects
from repos.git import errors as git_errors
from repos.git.repository import GitRepo, TreeEntry
from repos.handles import git_repo
from repos.lfs.errors import LfsError
from repos.models import Repository
from repos.objects.encryption import open_derived, repo_encrypted, seal_derived
from repos.selectors.files import lfs_pointer_of
from repos.tabular.preview import Preview, PreviewError, preview, preview_format

logger = logging.getLogger(__name__)

_VERSION = "v1"  # bump when Preview's shape or reading rules change
RESULT_TTL = 30 * 24 * 3600
# A "being prepared" marker older than this lost its worker: the next view queues it again.
PENDING_TTL = 15 * 60


@dataclass
class PreviewView:
    state: Literal["ready", "preparing", "error"]
    preview: Preview | None = None
    error: str = ""


def _keys(repo: Repository, content_id: str, fmt: str) -> tuple[str, str]:
    # A repository encrypted at rest has cache entries of its own, sealed under its key
    # (`_cache_get`/`_cache_set`): its rows never sit in the cache in plaintext, and a
    # repository that merely names the same sha256 never reads them.
    scope = f"{repo.storage_key.hex}:" if repo_encrypted(repo) else ""
    base = f"dataset-preview:{_VERSION}:{fmt}:{scope}{content_id}"
    return base, base + ":pending"


def _cache_get(repo: Repository, key: str) -> object:
    value = cache.get(key)
    if value is None or not repo_encrypted(repo):
        return value
    payload = open_derived(repo, value)
    return json.loads(payload) if payload is not None else None


def _cache_set(repo: Repository, key: str, result: dict[str, object], ttl: int) -> None:
    value: object = result
    if repo_encrypted(repo):
        value = seal_derived(repo, json.dumps(result).encode())
    cache.set(key, value, ttl)


def _open(repo: Repository, git: GitRepo, entry: TreeEntry) -> tuple[str, int, BinaryIO]:
    """(content id, size, readable file) of a file entry; LFS content through the byte door,
    and only objects linked to this repository (another repo's sha256 reveals nothing)."""
    pointer = lfs_pointer_of(git, entry)
    if pointer is None:
        return entry.oid, entry.size, io.BytesIO(git.read_blob(entry.oid))  # <= 10 MB regular file
    if objects.find(repo=repo, oid=pointer.oid) is None:
        raise PreviewError("the file's content is not available on this server")
    return pointer.oid, pointer.size, objects.open_object(repo=repo, oid=pointer.oid)


def _content_id(git: GitRepo, entry: TreeEntry) -> tuple[str, int]:
    pointer = lfs_pointer_of(git, entry)
    return (pointer.oid, pointer.size) if pointer is not None else (entry.oid, entry.size)


def _compute(repo: Repository, git: GitRepo, entry: TreeEntry, fmt: str) -> dict[str, object]:
    try:
        _cid, _size, f = _open(repo, git, entry)
        with f:
            return {"preview": preview(f, fmt).to_dict()}  # type: ignore[arg-type]
    except PreviewError as exc:
        return {"error": f"This file cannot be previewed: {exc}"}


def _view(cached: dict[str, object]) -> PreviewView:
    if "error" in cached:
        return PreviewView(state="error", error=str(cached["error"]))
    return PreviewView(state="ready", preview=Preview.from_dict(cached["preview"]))  # type: ignore[arg-type]


def dataset_preview(*, repo: Repository, git: GitRepo, sha: str, entry: TreeEntry,
                    enqueue: bool = True) -> PreviewView | None:
    """The preview of file `entry` at commit `sha` (the caller authorized reading its bytes),
    None when its format is not one the viewer reads."""
    fmt = preview_format(entry.path)
    if fmt is None:
        return None
    pointer = lfs_pointer_of(git, entry)
    if pointer is not None and objects.find(repo=repo, oid=pointer.oid) is None:
        # Checked before the cache, which is keyed by content: a repository that merely names
        # another (private) repository's sha256 in a pointer must not read its rows there.
        return PreviewView(state="error", error="This file cannot be previewed: its content is not available "
                                                "on this server.")
    content_id, size = _content_id(git, entry)
    key, pending = _keys(repo, content_id, fmt)
    cached = _cache_get(repo, key)
    if isinstance(cached, dict):
        return _view(cached)
    if size <= int(settings.HUB_DATASET_PREVIEW_INLINE_BYTES):
        try:
            result = _compute(repo, git, entry, fmt)
        except (OSError, LfsError, git_errors.GitError) as exc:
            logger.warning("dataset preview of %s in %s: %s", entry.path, repo, exc)
            return PreviewView(state="error", error="The file could not be read; retry later.")
        _cache_set(repo, key, result, RESULT_TTL)
        return _view(result)
    if enqueue and cache.add(pending, True, PENDING_TTL):
        from repos.tasks import dataset_preview as task  # the task module imports this one

        repo_pk, path = repo.pk, entry.path
        transaction.on_commit(lambda: task.delay(repo_pk, sha, path), robust=True)
    return PreviewView(state="preparing")


def dataset_preview_build(*, repo: Repository, sha: str, path: str) -> None:
    """Compute and cache the preview of `path` at `sha` (the worker)."""
    git = git_repo(repo)
    entry = git.get_entry(sha, path)
    fmt = preview_format(path)
    if entry is None or entry.type != "file" or fmt is None:
        return
    content_id, _size = _content_id(git, entry)
    key, pending = _keys(repo, content_id, fmt)
    try:
        result = _compute(repo, git, entry, fmt)
    except (OSError, LfsError) as exc:
        logger.warning("dataset preview of %s in %s: %s", path, repo, exc)
        result = {"error": "The file could not be read; retry later."}
        _cache_set(repo, key, result, 300)  # a passing storage problem: not cached for long
        cache.delete(pending)
        return
    _cache_set(repo, key, result, RESULT_TTL)
    cache.delete(pending)


def dataset_preview_give_up(*, repo: Repository, sha: str, path: str, reason: str) -> None:
    """Record that the preview of `path` at `sha` cannot be computed (shown as the error)."""
    git = git_repo(repo)
    entry = git.get_entry(sha, path)
    fmt = preview_format(path)
    if entry is None or entry.type != "file" or fmt is None:
        return
    key, pending = _keys(repo, _content_id(git, entry)[0], fmt)
    _cache_set(repo, key, {"error": f"This file cannot be previewed: {reason}"}, RESULT_TTL)
    cache.delete(pending)
