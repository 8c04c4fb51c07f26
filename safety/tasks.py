"""Celery tasks of the safety app. Thin: take ids, load, return quietly if gone, call a service."""
from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from repos.git.errors import GitError
from repos.models import Repository
from safety.dataset_redaction import REDACTION_TIME_LIMIT_S, redactions_reap
from safety.dataset_reports import revision_report
from safety.scanning import revision_scan

logger = logging.getLogger(__name__)

MAX_RETRIES = 3


# Default queue. The scanners bound bytes and time per file (10 minutes at most); the task
# limits stop a revision of many large pickles from holding the worker forever.
@shared_task(bind=True, name="safety.scan_revision", acks_late=True, ignore_result=True, soft_time_limit=3600,
             time_limit=3660, max_retries=MAX_RETRIES)
def scan_revision(self: Any, repo_id: int, sha: str) -> dict[str, int] | None:
    """Scan the files of repository `repo_id` at commit `sha` that have no verdict yet. Files
    whose bytes could not be read (an "error" verdict saying "scan failed") are tried again a
    few times, a minute apart and more; what still fails stays "error", shown as not safe."""
    repo = Repository.objects.filter(pk=repo_id).first()
    if repo is None:
        return None
    try:
        counts = revision_scan(repo=repo, sha=sha)
    except GitError as exc:
        # The commit or the repository vanished since enqueueing: nothing left to scan.
        logger.info("scan_revision %s@%s skipped: %s", repo.repo_id, sha, exc)
        return None
    if counts.get("failed") and self.request.retries < MAX_RETRIES and not self.request.is_eager:
        logger.warning("scan_revision %s@%s: %d file(s) could not be read; retrying", repo.repo_id, sha,
                       counts["failed"])
        raise self.retry(countdown=60 * 2 ** self.request.retries)
    return counts


# Default queue. Each file's scan is bounded (HUB_PII_MAX_ROWS/BYTES/SECONDS); the task limits
# stop a revision of many large files from holding the worker forever.
@shared_task(name="safety.report_dataset_revision", acks_late=True, ignore_result=True, soft_time_limit=3600,
             time_limit=3660)
def report_dataset_revision(repo_id: int, sha: str) -> dict[str, int] | None:
    """Personal-data reports of the dataset files of repository `repo_id` at commit `sha`."""
    repo = Repository.objects.filter(pk=repo_id).first()
    if repo is None:
        return None
    try:
        return revision_report(repo=repo, sha=sha)
    except GitError as exc:
        # The commit or the repository vanished since enqueueing: nothing left to report.
        logger.info("report_dataset_revision %s@%s skipped: %s", repo.repo_id, sha, exc)
        return None


# Default queue: a redaction streams each file once through the detector, bounded like a scan
# (safety.redaction.RedactionLimits) and by these limits.
@shared_task(name="safety.redact_dataset", acks_late=True, ignore_result=True,
             soft_time_limit=REDACTION_TIME_LIMIT_S - 60, time_limit=REDACTION_TIME_LIMIT_S)
def redact_dataset(redaction_id: int) -> None:
    """Run redaction job `redaction_id` (`safety.dataset_redaction.redaction_run`)."""
    from safety.dataset_redaction import redaction_run
    from safety.models import DatasetRedaction

    redaction = DatasetRedaction.objects.select_related("repository", "requested_by").filter(
        pk=redaction_id, state=DatasetRedaction.State.QUEUED).first()
    if redaction is None:
        return
    redaction_run(redaction=redaction)


@shared_task(name="safety.reap_redactions", acks_late=True, ignore_result=True, soft_time_limit=120, time_limit=180)
def reap_redactions() -> dict[str, int]:
    """Periodic (CELERY_BEAT_SCHEDULE): redactions whose worker died, and lost queued ones."""
    return redactions_reap()
