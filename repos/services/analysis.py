"""Work done in the background after a commit: the safetensors summary shown by model_info.

The web process only enqueues (`enqueue_repo_analysis`); the worker runs `repo_analyze`,
which reads nothing but the JSON headers of the weight files (never the tensors), so a
multi-GB model costs a few kilobytes of reads.
"""
from __future__ import annotations

import io
import logging
from typing import Any, BinaryIO

from django.db import transaction

from repos import objects
from repos.events import RefsUpdated
from repos.git.errors import TreeTooLarge
from repos.git.repository import GitRepo, TreeEntry
from repos.handles import git_repo, walk_limits
from repos.lfs.errors import LfsError
from repos.lfs.pointer import MAX_POINTER_SIZE, parse_pointer
from repos.models import Repository
from repos.policy.upload import MAX_REGULAR_FILE_SIZE
from repos.services.index import repo_facets_write
from repos.weights.safetensors_header import SafetensorsError, SafetensorsHeader, read_header

logger = logging.getLogger(__name__)

SAFETENSORS_SUFFIX = ".safetensors"
# A repository of a hundred thousand tiny shards is hostile, not a model; stop counting
# rather than opening every one of them.
MAX_WEIGHT_FILES = 2000


def analysis_on_refs_updated(event: RefsUpdated) -> None:
    """The event door's subscriber: a new head of the default branch gets its analysis, once
    per change whatever path moved it."""
    change = event.change_of(f"refs/heads/{event.repo.default_branch}")
    if change is not None and change.new is not None:
        enqueue_repo_analysis(event.repo, change.new)


def enqueue_repo_analysis(repo: Repository, sha: str) -> None:
    """Schedule `repo_analyze` for `repo` at commit `sha` once the current transaction commits
    (at once when none is open). `robust`:
    the commit has already happened when the callback runs, so a broker that is down must not
    turn a successful commit into an error; the summary is only missing until the next commit.
    """
    from repos.tasks import repo_analyze  # the task module imports this one

    repo_pk = repo.pk
    transaction.on_commit(lambda: repo_analyze.delay(repo_pk, sha), robust=True)


def safetensors_summary(*, repo: Repository, git: GitRepo, sha: str) -> dict[str, Any] | None:
    """`{"parameters": {dtype: count}, "total": n}` over every `*.safetensors` file of commit
    `sha` (shards of a sharded checkpoint add up), or None when it has no readable one.

    Files whose header is invalid, or whose LFS object is missing, are skipped: they are
    reported by the upload checks, and one bad shard should not hide the others.
    """
    counts: dict[str, int] = {}
    found = 0
    try:
        for entry in git.iter_files(sha, limits=walk_limits()):
            if not entry.path.endswith(SAFETENSORS_SUFFIX):
                continue
            if found >= MAX_WEIGHT_FILES:
                logger.warning("analysis of %s stopped after %d weight files", sha, found)
                break
            header = _read_weight_header(repo, git, entry)
            if header is None:
                continue
            found += 1
            for dtype, n in header.parameter_counts().items():
                counts[dtype] = counts.get(dtype, 0) + n
    except TreeTooLarge as exc:
        logger.warning("analysis of %s stopped at the walk limits: %s", sha, exc)
    if not found:
        return None
    return {"parameters": counts, "total": sum(counts.values())}


def _read_weight_header(repo: Repository, git: GitRepo, entry: TreeEntry) -> SafetensorsHeader | None:
    f: BinaryIO
    if entry.size < MAX_POINTER_SIZE:
        data = git.read_blob(entry.oid)
        pointer = parse_pointer(data)
        if pointer is not None:
            try:
                f = objects.open_object(repo=repo, oid=pointer.oid)
            except LfsError:
                logger.warning("LFS object %s of %s is missing", pointer.oid, entry.path)
                return None
            size = pointer.size
        else:
            f, size = io.BytesIO(data), len(data)
    elif entry.size <= MAX_REGULAR_FILE_SIZE:
        f, size = io.BytesIO(git.read_blob(entry.oid)), entry.size
    else:
        return None  # a plain blob this large was never accepted by the upload policy
    with f:
        try:
            return read_header(f, size)
        except SafetensorsError as exc:
            logger.info("%s is not a valid safetensors file: %s", entry.path, exc)
            return None


def repo_analyze_commit(*, repo: Repository, sha: str) -> dict[str, Any] | None:
    """Compute the summary of `repo` at `sha` and store it if `sha` is still the indexed head
    of the default branch.

    Tasks for successive commits may finish out of order; the conditional update makes the
    newest head win, and an analysis of a branch other than the default one changes nothing.
    No lock: it only reads immutable git objects and LFS objects.
    """
    summary = safetensors_summary(repo=repo, git=git_repo(repo), sha=sha)
    with transaction.atomic():
        updated = Repository.objects.filter(pk=repo.pk, head_sha=sha).update(safetensors=summary)
        if updated:
            # The parameter-count facet follows the summary (the commit's index ran before it).
            repo.refresh_from_db(fields=["card_data", "used_storage", "safetensors"])
            repo_facets_write(repo=repo)
    if not updated:
        logger.info("analysis of %s at %s not stored: no longer the head", repo.repo_id, sha)
    return summary
