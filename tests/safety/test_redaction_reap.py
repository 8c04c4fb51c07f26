"""Redactions whose worker died end in a visible failure instead of "running" forever, and
queued ones whose broker message was lost are sent again (`redactions_reap`)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from safety import tasks
from safety.dataset_redaction import REDACTION_TIME_LIMIT_S, redactions_reap
from safety.models import DatasetRedaction

pytestmark = pytest.mark.django_db


def _redaction(repo, user, *, state, started_ago=None, created_ago=0.0):
    now = timezone.now()
    row = DatasetRedaction.objects.create(
        repository=repo, requested_by=user, revision="a" * 40, branch="main", paths=["train.csv"], state=state,
        started_at=now - timedelta(seconds=started_ago) if started_ago is not None else None)
    DatasetRedaction.objects.filter(pk=row.pk).update(created_at=now - timedelta(seconds=created_ago))
    return row


def test_orphaned_runs_fail_saying_why_and_live_ones_are_left_alone(make_repo, alice, monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr(tasks.redact_dataset, "delay", sent.append)
    repo = make_repo("pii", repo_type="dataset")
    past_limit = REDACTION_TIME_LIMIT_S + 120
    orphan = _redaction(repo, alice, state="running", started_ago=past_limit, created_ago=past_limit)
    legacy = _redaction(repo, alice, state="running", created_ago=past_limit)  # from before started_at
    live = _redaction(repo, alice, state="running", started_ago=30, created_ago=past_limit)
    done = _redaction(repo, alice, state="succeeded", started_ago=past_limit, created_ago=past_limit)

    assert redactions_reap() == {"failed": 2, "resent": 0}
    for row in (orphan, legacy):
        row.refresh_from_db()
        assert row.state == "failed" and "worker" in row.error and "again" in row.error and row.finished_at
    live.refresh_from_db()
    done.refresh_from_db()
    assert live.state == "running" and done.state == "succeeded" and sent == []
    assert redactions_reap() == {"failed": 0, "resent": 0}  # repeatable


def test_lost_queued_redactions_are_sent_again_and_run_once(make_repo, alice, settings, monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr(tasks.redact_dataset, "delay", sent.append)
    repo = make_repo("pii2", repo_type="dataset")
    lost = _redaction(repo, alice, state="queued", created_ago=settings.HUB_JOB_QUEUED_STALE_SECONDS + 60)
    fresh = _redaction(repo, alice, state="queued", created_ago=5)
    assert redactions_reap() == {"failed": 0, "resent": 1}
    assert sent == [lost.pk]
    fresh.refresh_from_db()
    assert fresh.state == "queued"


def test_the_reaper_is_scheduled(settings):
    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "safety.reap_redactions" in schedule
