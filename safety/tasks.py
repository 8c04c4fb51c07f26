"""Celery tasks of the safety app. Thin: take ids, load, return quietly if gone, call a service."""
from __future__ import annotations

import logging

from celery import shared_task

from repos.git.errors import GitError
from repos.models import Repository
from safety.scanning import revision_scan

logger = logging.getLogger(__name__)


# Default queue. The scanners bound bytes and time per file (10 minutes at most); the task
# limits stop a revision of many large pickles from holding the worker forever.
@shared_task(name="safety.scan_revision", acks_late=True, ignore_result=True, soft_time_limit=3600, time_limit=3660)
def scan_revision(repo_id: int, sha: str) -> dict[str, int] | None:
    """Scan the files of repository `repo_id` at commit `sha` that have no verdict yet."""
    repo = Repository.objects.filter(pk=repo_id).first()
    if repo is None:
        return None
    try:
        return revision_scan(repo=repo, sha=sha)
    except GitError as exc:
        # The commit or the repository vanished since enqueueing: nothing left to scan.
        logger.info("scan_revision %s@%s skipped: %s", repo.repo_id, sha, exc)
        return None
