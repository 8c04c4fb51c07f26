"""Creating, cancelling, retrying and reaping jobs (the row's lifecycle outside the run).

Enqueueing always happens through `transaction.on_commit` (robust: a broker that is down must
not undo the write that asked for the job). A message the broker lost is not a lost job: the
row stays `queued` and `job_reap` sends it again once it has waited too long.
"""
from __future__ import annotations

import logging
import os
import socket
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from jobs.models import Job, JobStateError
from repos.models import Discussion, Repository

logger = logging.getLogger(__name__)

QUEUE_OF_KIND: dict[str, str] = {Job.Kind.EVALUATE: "eval", Job.Kind.FINETUNE: "gpu", Job.Kind.SELFCHECK: "eval"}
_DROPPED_MARK = "[... earlier log lines dropped ...]\n"


class JobError(Exception):
    """A request about a job that cannot be honoured (the message says why)."""


def _enqueue(job: Job) -> None:
    from jobs.tasks import job_run  # the task module imports the services

    pk, queue = job.pk, job.queue
    transaction.on_commit(lambda: job_run.apply_async((pk,), queue=queue), robust=True)


def job_submit(*, kind: str, repo: Repository, revision: str, params: dict[str, Any] | None = None,
               created_by: User | None = None, base_revision: str = "", discussion: Discussion | None = None,
               queue: str | None = None) -> Job:
    """Create a queued job and enqueue it once the transaction commits. `revision` and
    `base_revision` must be full commit shas (callers resolve branch names first: a job runs
    on exactly what was asked, even if the branch moves meanwhile). No permission check:
    callers (API, subscribers) decide who may ask."""
    if kind not in Job.Kind.values:
        raise JobError(f"Unknown job kind {kind!r}")
    for sha in (revision, base_revision):
        if sha and (len(sha) != 40 or any(c not in "0123456789abcdef" for c in sha)):
            raise JobError(f"{sha!r} is not a full commit sha")
    job = Job.objects.create(
        kind=kind, repository=repo, revision=revision, base_revision=base_revision, discussion=discussion,
        created_by=created_by, params=params or {}, queue=queue or QUEUE_OF_KIND[kind],
        max_attempts=max(1, int(settings.HUB_JOB_MAX_ATTEMPTS)),
    )
    _enqueue(job)
    return job


def job_cancel(*, job: Job) -> Job:
    """Cancel `job`: a queued job ends `cancelled` at once; for a running one the request is
    recorded and the worker stops the run within seconds (its poll sees the flag, the sandbox
    kills the child after a short grace). Cancelling a finished job changes nothing."""
    Job.objects.filter(pk=job.pk).update(cancel_requested=True)
    job.cancel_requested = True
    if job.state == Job.State.QUEUED:
        try:
            job.transition(Job.State.CANCELLED, error="Cancelled before it started")
        except JobStateError:
            pass  # a worker took it meanwhile: it sees the flag
    else:
        job.refresh_from_db()
    return job


def job_retry(*, job: Job) -> Job:
    """Run a failed or cancelled job again (operators), as a new series of attempts."""
    if job.state not in (Job.State.FAILED, Job.State.CANCELLED):
        raise JobError(f"Only failed or cancelled jobs can be retried; job {job.pk} is {job.state}")
    job.transition(Job.State.QUEUED, attempts=0, cancel_requested=False, error="", result=None,
                   progress=0.0, step=0, loss=None, metrics={}, curve=[], worker="")
    job_log_append(job=job, lines=["[hub] retried by an operator"])
    _enqueue(job)
    return job


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def worker_gone(job: Job, *, now: Any = None) -> bool:
    """Whether the process recorded as running `job` is certainly gone: on this host, its pid
    no longer exists; anywhere, its heartbeat is older than HUB_JOB_STALE_SECONDS."""
    now = now or timezone.now()
    host, _, pid = job.worker.rpartition(":")
    if host == socket.gethostname() and pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
        return True
    beat = job.heartbeat_at or job.started_at
    return beat is None or (now - beat).total_seconds() > settings.HUB_JOB_STALE_SECONDS


def job_requeue_orphan(*, job: Job, reason: str) -> bool:
    """`job` is `running` but its worker is gone (infrastructure failure, not the run's fault):
    queue it again when attempts are left, else end it `failed` with `reason`. Returns True
    when it was queued again (the caller runs it or sends it)."""
    if job.cancel_requested:
        job.transition(Job.State.CANCELLED, error="Cancelled (the worker stopped before finishing)")
        return False
    if job.attempts >= job.max_attempts:
        message = f"{reason}; attempt {job.attempts} of {job.max_attempts}, not retried"
        job.transition(Job.State.FAILED, error=message)
        job_log_append(job=job, lines=[f"[hub] {message}"])
        return False
    job.transition(Job.State.QUEUED, worker="")
    job_log_append(job=job, lines=[f"[hub] {reason}; attempt {job.attempts} of {job.max_attempts}, retrying"])
    return True


def job_reap() -> dict[str, int]:
    """Find jobs no worker will finish: `running` ones whose worker is gone (retried or
    failed with the reason) and `queued` ones waiting longer than HUB_JOB_QUEUED_STALE_SECONDS
    (their message was lost: sent again). Never leaves a job stuck `running`."""
    now = timezone.now()
    stats = {"requeued": 0, "failed": 0, "resent": 0}
    for job in Job.objects.filter(state=Job.State.RUNNING).select_related("repository"):
        if not worker_gone(job, now=now):
            continue
        try:
            if job_requeue_orphan(job=job, reason="The worker running this job stopped"):
                _enqueue(job)
                stats["requeued"] += 1
            else:
                stats["failed"] += 1
        except JobStateError:
            continue  # it moved meanwhile (the worker came back and finished)
    cutoff = now - timedelta(seconds=settings.HUB_JOB_QUEUED_STALE_SECONDS)
    for job in Job.objects.filter(state=Job.State.QUEUED, enqueued_at__lt=cutoff):
        Job.objects.filter(pk=job.pk, state=Job.State.QUEUED).update(enqueued_at=now)
        _enqueue(job)
        stats["resent"] += 1
    return stats


def job_log_append(*, job: Job, lines: list[str]) -> None:
    """Append `lines` to the job's log, keeping the last HUB_JOB_LOG_MAX_CHARS characters.
    Only the process running the job (or holding its state transition) writes the log."""
    if not lines:
        return
    text = Job.objects.filter(pk=job.pk).values_list("log", flat=True).first() or ""
    text += "".join(line.rstrip("\n") + "\n" for line in lines)
    cap = int(settings.HUB_JOB_LOG_MAX_CHARS)
    if len(text) > cap:
        text = text[-(cap - len(_DROPPED_MARK)):]
        text = _DROPPED_MARK + text[text.find("\n") + 1:]
    Job.objects.filter(pk=job.pk).update(log=text)
    job.log = text
