"""The Job state machine: allowed moves only, conditional on the current state."""
from __future__ import annotations

import pytest

from jobs.models import Job, JobStateError
from tests.factories import RepositoryFactory

S = Job.State


@pytest.fixture
def job(alice):
    repo = RepositoryFactory(owner=alice, name="sm")
    return Job.objects.create(kind=Job.Kind.SELFCHECK, repository=repo, revision=repo.head_sha)


@pytest.mark.parametrize(("old", "new", "ok"), [
    (S.QUEUED, S.RUNNING, True), (S.QUEUED, S.CANCELLED, True), (S.QUEUED, S.FAILED, True),
    (S.QUEUED, S.SUCCEEDED, False), (S.RUNNING, S.SUCCEEDED, True), (S.RUNNING, S.QUEUED, True),
    (S.SUCCEEDED, S.QUEUED, False), (S.SUCCEEDED, S.FAILED, False), (S.FAILED, S.QUEUED, True),
    (S.FAILED, S.RUNNING, False), (S.CANCELLED, S.SUCCEEDED, False), (S.CANCELLED, S.QUEUED, True),
])
def test_allowed_transitions(old, new, ok):
    assert Job.allowed(old, new) is ok


def test_lifecycle_sets_timestamps(job):
    assert job.state == S.QUEUED and job.started_at is None
    job.transition(S.RUNNING, attempts=1)
    job.refresh_from_db()
    assert job.state == S.RUNNING and job.started_at and job.heartbeat_at and job.finished_at is None
    job.transition(S.SUCCEEDED, result={"ok": 1})
    job.refresh_from_db()
    assert job.state == S.SUCCEEDED and job.finished_at >= job.started_at and job.result == {"ok": 1}
    with pytest.raises(JobStateError, match="not allowed"):
        job.transition(S.RUNNING)


def test_a_stale_instance_loses_the_race(job):
    other = Job.objects.get(pk=job.pk)
    other.transition(S.CANCELLED)
    with pytest.raises(JobStateError, match="cancelled now"):
        job.transition(S.RUNNING)
    assert job.state == S.CANCELLED  # reloaded: the caller sees who won
    assert Job.objects.get(pk=job.pk).started_at is None
