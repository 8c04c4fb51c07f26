"""Celery tasks of the repos app. Thin: take ids, load, return quietly if gone, call a service."""
from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from repos.git.errors import GitError
from repos.models import Repository
from repos.services.analysis import repo_analyze_commit

logger = logging.getLogger(__name__)


# Routed to the `default` queue (task_default_queue). Reading headers takes milliseconds; the
# limits only stop a pathological repository from holding the worker.
@shared_task(name="repos.repo_analyze", acks_late=True, ignore_result=True, soft_time_limit=300, time_limit=360)
def repo_analyze(repo_id: int, sha: str) -> dict[str, Any] | None:
    """Store the safetensors summary of repository `repo_id` at commit `sha`."""
    repo = Repository.objects.filter(pk=repo_id).first()
    if repo is None:
        return None
    try:
        return repo_analyze_commit(repo=repo, sha=sha)
    except GitError as exc:
        # The commit or the repository vanished (force push, deletion) since enqueueing:
        # nothing to analyze, and a retry would not bring it back.
        logger.info("repo_analyze %s@%s skipped: %s", repo.repo_id, sha, exc)
        return None


# Default queue: reading two checkpoints is I/O and memory-bandwidth work, no GPU. A 2 x 2 GB
# pair takes seconds to a minute; the limits stop a pathological one from holding the worker.
@shared_task(name="repos.tensor_diff", acks_late=True, ignore_result=True, soft_time_limit=1800, time_limit=1860)
def tensor_diff(diff_id: int) -> None:
    """Compute the tensor diff row `diff_id` (`repos.reviews.services.tensor_diffs`)."""
    from repos.models import TensorDiff
    from repos.reviews.services.tensor_diffs import tensor_diff_run

    diff = TensorDiff.objects.select_related("repository").filter(pk=diff_id).first()
    if diff is None or diff.state == TensorDiff.State.DONE:
        return
    tensor_diff_run(diff=diff)


# Default queue: rewriting a repository's objects is disk-bound; a many-GB repository takes
# minutes. acks_late + an idempotent service: a crashed run is simply run again.
@shared_task(name="repos.repo_objects_settle", acks_late=True, ignore_result=True, soft_time_limit=6 * 3600,
             time_limit=6 * 3600 + 60)
def repo_objects_settle(repo_id: int) -> dict[str, int] | None:
    """Encrypt or decrypt the LFS objects (and encrypt the Xet xorbs) of repository `repo_id`
    as its visibility now asks (`repos.services.encryption`); the hub serves them throughout."""
    from repos.services.encryption import repository_settle

    repo = Repository.objects.filter(pk=repo_id).first()
    if repo is None:
        return None
    return repository_settle(repo=repo)


@shared_task(name="repos.xet_collect_garbage", acks_late=True, ignore_result=True, soft_time_limit=1800,
             time_limit=1900)
def xet_collect_garbage() -> dict[str, int]:
    """Periodic (CELERY_BEAT_SCHEDULE): collect Xet storage no repository uses any more."""
    from datetime import timedelta

    from django.conf import settings

    from repos.services.xet import xet_collect_garbage as collect

    stats = collect(grace=timedelta(seconds=settings.HUB_XET_GC_GRACE))
    return {"files": stats.files, "xorbs": stats.xorbs, "xorb_files": stats.xorb_files, "shards": stats.shards}


# Default queue: reading a large CSV/JSONL to count its rows is streamed I/O; the limits stop a
# pathological file from holding the worker.
@shared_task(name="repos.dataset_preview", acks_late=True, ignore_result=True, soft_time_limit=900, time_limit=960)
def dataset_preview(repo_id: int, sha: str, path: str) -> None:
    """Compute the dataset viewer's preview of `path` at `sha` (`repos.services.dataset_preview`)."""
    from celery.exceptions import SoftTimeLimitExceeded

    from repos.services.dataset_preview import dataset_preview_build, dataset_preview_give_up

    repo = Repository.objects.filter(pk=repo_id).first()
    if repo is None:
        return
    try:
        dataset_preview_build(repo=repo, sha=sha, path=path)
    except GitError as exc:
        logger.info("dataset_preview %s@%s:%s skipped: %s", repo.repo_id, sha, path, exc)
    except SoftTimeLimitExceeded:
        # Cached as an error: queueing it again on every view would hold the worker forever.
        dataset_preview_give_up(repo=repo, sha=sha, path=path, reason="reading it took too long")
