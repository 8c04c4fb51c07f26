"""The Job row: one evaluation or fine-tuning run, its state machine, progress and log.

The database owns the lifecycle; the runner (a sandboxed child process) knows nothing of it.
Every state change goes through `Job.transition` (allowed moves in `TRANSITIONS`), written as
a conditional UPDATE on the current state, so two processes racing for the same job (a
redelivered task, the reaper, a cancel) cannot both win.
"""
from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone


class JobStateError(Exception):
    """A transition the state machine does not allow (or the row moved meanwhile)."""


class Job(models.Model):
    """A unit of long work on a repository revision, run by a Celery worker in the sandbox.

    Invariants: `revision` (and `base_revision` for a PR evaluation) are full commit shas
    pinned at submission, never branch names; `finished_at` is set exactly in the final states;
    `attempts` counts the starts of the run (an infrastructure failure - a worker that died -
    may start it again, up to `max_attempts`); `log` keeps the tail of the run's log, at most
    `settings.HUB_JOB_LOG_MAX_CHARS` characters."""

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    class Kind(models.TextChoices):
        EVALUATE = "evaluate"
        FINETUNE = "finetune"
        # An operator's check of a worker's sandbox (`manage.py jobs check`) and the timing
        # job of bench/jobs_dispatch.py: runs one of the `selfcheck` probes, no repository data.
        SELFCHECK = "selfcheck"

    # queued -> running -> succeeded | failed | cancelled; running -> queued is the retry of an
    # infrastructure failure; failed/cancelled -> queued is an operator's `jobs retry`.
    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        State.QUEUED: frozenset({State.RUNNING, State.FAILED, State.CANCELLED}),
        State.RUNNING: frozenset({State.SUCCEEDED, State.FAILED, State.CANCELLED, State.QUEUED}),
        State.SUCCEEDED: frozenset(),
        State.FAILED: frozenset({State.QUEUED}),
        State.CANCELLED: frozenset({State.QUEUED}),
    }
    FINAL: ClassVar[frozenset[str]] = frozenset({State.SUCCEEDED, State.FAILED, State.CANCELLED})

    kind = models.CharField(max_length=16, choices=Kind.choices)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED, db_index=True)
    queue = models.CharField(max_length=16, default="eval")
    repository = models.ForeignKey("repos.Repository", on_delete=models.CASCADE, related_name="jobs")
    revision = models.CharField(max_length=40)
    base_revision = models.CharField(max_length=40, blank=True)
    # The pull request this job evaluates (PR evaluations) or opened (fine-tuning), if any.
    discussion = models.ForeignKey("repos.Discussion", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="jobs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    enqueued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=2)
    worker = models.CharField(max_length=200, blank=True)  # "host:pid" of the process running it
    cancel_requested = models.BooleanField(default=False)

    progress = models.FloatField(default=0.0)  # fraction in [0, 1]
    step = models.PositiveIntegerField(default=0)
    loss = models.FloatField(null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True)  # latest progress metrics
    # The loss curve: [[step, loss], ...], thinned to at most MAX_CURVE_POINTS.
    curve = models.JSONField(default=list, blank=True)
    log = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["repository", "-created_at"])]

    def __str__(self) -> str:
        return f"job {self.pk} ({self.kind}, {self.state})"

    @property
    def is_final(self) -> bool:
        return self.state in self.FINAL

    @classmethod
    def allowed(cls, old: str, new: str) -> bool:
        return new in cls.TRANSITIONS.get(old, frozenset())

    def transition(self, new: str, **fields: Any) -> None:
        """Move this job from its current state to `new`, writing `fields` with it, atomically.

        Raises JobStateError when the move is not allowed or when another process changed the
        state first (the row is then reloaded, so the caller sees who won)."""
        old = self.state
        if not self.allowed(old, new):
            raise JobStateError(f"job {self.pk}: {old} -> {new} is not allowed")
        now = timezone.now()
        if new in self.FINAL:
            fields.setdefault("finished_at", now)
        elif new == self.State.RUNNING:
            fields.setdefault("started_at", now)
            fields.setdefault("heartbeat_at", now)
            fields.setdefault("finished_at", None)
        elif new == self.State.QUEUED:
            fields.setdefault("enqueued_at", now)
            fields.setdefault("finished_at", None)
        updated = Job.objects.filter(pk=self.pk, state=old).update(state=new, **fields)
        if not updated:
            self.refresh_from_db()
            raise JobStateError(f"job {self.pk} is {self.state} now, not {old}")
        self.state = new
        for name, value in fields.items():
            setattr(self, name, value)
