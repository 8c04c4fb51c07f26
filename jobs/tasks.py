"""Celery tasks of the jobs app. Thin: an id in, `job_execute` does the rest.

`jobs.run` is routed per job to the `eval` or `gpu` queue (`Job.queue`, chosen at submission).
`acks_late` + `reject_on_worker_lost`: a worker process that dies mid-job does not take the
message with it; the redelivery finds the row `running` with its worker gone and retries or
fails it (`execution._claim`). The time limits sit above the sandbox's own wall clock, which
normally stops a run first; the soft one still ends the row `failed` with the reason.
"""
from __future__ import annotations

from celery import shared_task
from django.conf import settings

from jobs.services.execution import job_execute
from jobs.services.lifecycle import job_reap

# Two runs (base and head) per PR evaluation, plus snapshots and the finisher.
_SOFT_LIMIT = int(2 * settings.HUB_JOB_WALL_SECONDS + 600)


@shared_task(name="jobs.run", acks_late=True, reject_on_worker_lost=True, ignore_result=True,
             soft_time_limit=_SOFT_LIMIT, time_limit=_SOFT_LIMIT + 120)
def job_run(job_id: int) -> None:
    job_execute(job_id=job_id)


@shared_task(name="jobs.reap", acks_late=True, ignore_result=True, soft_time_limit=120, time_limit=180)
def jobs_reap() -> dict[str, int]:
    """Periodic (CELERY_BEAT_SCHEDULE): orphaned running jobs and lost queued ones."""
    return job_reap()
