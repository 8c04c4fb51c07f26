"""Running jobs in-process (the worker's code path without Celery): snapshots through the byte
door, the sandboxed runner, results, failures with reasons, retries of orphans, the reaper."""
from __future__ import annotations

import os
import subprocess
from datetime import timedelta

import pytest
import torch
from django.utils import timezone
from sklearn.metrics import accuracy_score, f1_score

from jobs.models import Job
from jobs.sandbox import sandbox_problem
from jobs.services.execution import job_execute
from jobs.services.lifecycle import job_cancel, job_reap, job_retry, job_submit, worker_identity
from tests.factories import RepositoryFactory, commit
from tests.jobs.hubdata import csv_bytes, directory_files, eval_params
from tests.jobs.runners import tiny

pytestmark = pytest.mark.skipif(sandbox_problem() is not None, reason=f"no job sandbox: {sandbox_problem()}")


@pytest.fixture
def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


@pytest.fixture
def model_and_data(alice, classifier_dir, tmp_path):
    model = RepositoryFactory(owner=alice, name="clf")
    files, lfs = directory_files(classifier_dir)
    sha = commit(model, files=files, lfs=lfs, message="Tiny classifier")
    data = RepositoryFactory(owner=alice, name="reviews", repo_type="dataset")
    rows = tiny.classification_rows(60, seed=11, noise={"north": 0.1, "south": 0.4})
    data_sha = commit(data, files={"test.csv": csv_bytes(rows, tmp_path)}, message="Test split")
    return model, sha, data, data_sha, rows


def _predict(model_dir, texts) -> list[int]:
    from transformers import BertForSequenceClassification

    model = BertForSequenceClassification.from_pretrained(str(model_dir)).eval()
    tok = tiny.fast_tokenizer(model_dir)
    with torch.no_grad():
        return [int(model(**tok([t], return_tensors="pt")).logits[0].argmax()) for t in texts]


def test_an_evaluation_job_reads_the_snapshots_and_stores_the_runner_result(model_and_data, classifier_dir, alice):
    model, sha, data, data_sha, rows = model_and_data
    job = job_submit(kind="evaluate", repo=model, revision=sha, created_by=alice,
                     params={"dataset": {"id": data.pk, "revision": data_sha},
                             "runner_params": eval_params(data.repo_id)})
    assert job.queue == "eval" and job.state == "queued"
    job_execute(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == "succeeded", (job.error, job.log[-3000:])
    run = job.result["runs"]["head"]
    assert run["status"] == "succeeded" and run["sandboxed"] is True
    y = [tiny.CLASS_LABELS.index(r["label"]) for r in rows]
    p = _predict(classifier_dir, [r["text"] for r in rows])
    metrics = run["result"]["metrics"]
    assert metrics["accuracy"] == pytest.approx(accuracy_score(y, p), abs=1e-12)
    assert metrics["f1_macro"] == pytest.approx(f1_score(y, p, average="macro"), abs=1e-12)
    assert run["result"]["by_group"]["count"] == {"north": 40.0, "south": 20.0}
    assert job.progress == 1.0 and job.attempts == 1 and job.finished_at and job.heartbeat_at
    assert "attempt 1 of 2 started" in job.log and "[hub] succeeded" in job.log
    # Snapshots and work directories are gone.
    from django.conf import settings
    assert not any((settings.HUB_JOBS_DIR / "snapshots").iterdir())
    assert not any((settings.HUB_JOBS_DIR / "work").iterdir())


def test_base_and_head_are_two_runs(model_and_data, alice):
    model, sha, data, data_sha, _rows = model_and_data
    job = job_submit(kind="evaluate", repo=model, revision=sha, base_revision=sha,
                     params={"dataset": {"id": data.pk, "revision": data_sha},
                             "runner_params": eval_params(data.repo_id, group=None)})
    job_execute(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == "succeeded", job.error
    assert set(job.result["runs"]) == {"base", "head"}
    assert job.result["runs"]["base"]["result"]["metrics"] == job.result["runs"]["head"]["result"]["metrics"]


def test_a_runner_error_fails_the_job_with_its_reason(model_and_data):
    model, sha, data, data_sha, _rows = model_and_data
    params = eval_params(data.repo_id)
    params["eval"]["dataset"]["args"]["label_column"] = "stars"
    job = job_submit(kind="evaluate", repo=model, revision=sha,
                     params={"dataset": {"id": data.pk, "revision": data_sha}, "runner_params": params})
    job_execute(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == "failed" and "stars" in job.error
    assert job.result["runs"]["head"]["status"] == "failed"


def test_a_missing_object_or_dataset_is_a_clear_failure(alice, model_and_data):
    model, sha, data, data_sha, _rows = model_and_data
    broken = commit(model, lfs={"model.safetensors": b"not stored here"}, link_lfs=False, message="Break")
    job = job_submit(kind="evaluate", repo=model, revision=broken,
                     params={"dataset": {"id": data.pk, "revision": data_sha},
                             "runner_params": eval_params(data.repo_id)})
    job_execute(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == "failed" and "model.safetensors" in job.error and "not stored" in job.error

    gone = job_submit(kind="evaluate", repo=model, revision=sha,
                      params={"dataset": {"id": data.pk + 1000, "revision": data_sha}})
    job_execute(job_id=gone.pk)
    gone.refresh_from_db()
    assert gone.state == "failed" and gone.error == "The job's dataset repository no longer exists"


def test_no_sandbox_no_job(model_and_data, monkeypatch):
    from jobs import sandbox

    monkeypatch.setitem(sandbox._AVAILABLE, "bwrap", "bubblewrap (bwrap) is not installed")
    model, sha, *_ = model_and_data
    job = job_submit(kind="selfcheck", repo=model, revision=sha)
    job_execute(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == "failed" and "bubblewrap (bwrap) is not installed" in job.error


def test_a_selfcheck_job_runs_sandboxed_as_nobody(model_and_data):
    model, sha, *_ = model_and_data
    job = job_submit(kind="selfcheck", repo=model, revision=sha, params={"probe": "inspect"})
    job_execute(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == "succeeded", job.error
    result = job.result["runs"]["run"]["result"]
    assert result["info"]["hostname"] == "job" and "SECRET_KEY" not in result["info"]["env_keys"]
    if os.geteuid() == 0:
        assert result["metrics"]["uid"] == 65534


def test_cancel_before_start_and_retry(model_and_data):
    model, sha, *_ = model_and_data
    job = job_submit(kind="selfcheck", repo=model, revision=sha)
    job_cancel(job=job)
    assert job.state == "cancelled" and job.finished_at
    job_execute(job_id=job.pk)  # a late delivery of its message does nothing
    job.refresh_from_db()
    assert job.state == "cancelled" and job.attempts == 0
    job_retry(job=job)
    assert job.state == "queued" and not job.cancel_requested
    job_execute(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == "succeeded" and "retried by an operator" in job.log


def test_a_redelivered_job_whose_worker_died_is_retried_then_failed(model_and_data, dead_pid):
    model, sha, *_ = model_and_data
    host = worker_identity().rpartition(":")[0]
    job = job_submit(kind="selfcheck", repo=model, revision=sha)
    Job.objects.filter(pk=job.pk).update(state="running", attempts=1, worker=f"{host}:{dead_pid}",
                                         started_at=timezone.now(), heartbeat_at=timezone.now())
    job_execute(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == "succeeded" and job.attempts == 2
    assert "The worker running this job stopped; attempt 1 of 2, retrying" in job.log

    again = job_submit(kind="selfcheck", repo=model, revision=sha)
    Job.objects.filter(pk=again.pk).update(state="running", attempts=2, worker=f"{host}:{dead_pid}",
                                           started_at=timezone.now(), heartbeat_at=timezone.now())
    job_execute(job_id=again.pk)
    again.refresh_from_db()
    assert again.state == "failed"
    assert again.error == "The worker running this job stopped; attempt 2 of 2, not retried"


def test_a_duplicate_delivery_of_a_live_job_is_ignored(model_and_data):
    model, sha, *_ = model_and_data
    job = job_submit(kind="selfcheck", repo=model, revision=sha)
    Job.objects.filter(pk=job.pk).update(state="running", attempts=1, worker=f"elsewhere:{os.getpid()}",
                                         heartbeat_at=timezone.now())
    job_execute(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == "running" and job.attempts == 1


def test_the_reaper_retries_orphans_fails_exhausted_ones_and_resends_lost_messages(
        model_and_data, dead_pid, django_capture_on_commit_callbacks, monkeypatch):
    from jobs import tasks

    sent: list[tuple] = []
    monkeypatch.setattr(tasks.job_run, "apply_async", lambda args, queue: sent.append((args, queue)))
    model, sha, *_ = model_and_data
    host = worker_identity().rpartition(":")[0]
    old = timezone.now() - timedelta(hours=2)
    orphan = job_submit(kind="selfcheck", repo=model, revision=sha)
    exhausted = job_submit(kind="selfcheck", repo=model, revision=sha)
    silent = job_submit(kind="selfcheck", repo=model, revision=sha)  # another host, heartbeat stale
    alive = job_submit(kind="selfcheck", repo=model, revision=sha)
    lost = job_submit(kind="selfcheck", repo=model, revision=sha)
    fresh = job_submit(kind="selfcheck", repo=model, revision=sha)
    now = timezone.now()
    Job.objects.filter(pk=orphan.pk).update(state="running", attempts=1, worker=f"{host}:{dead_pid}", heartbeat_at=now)
    Job.objects.filter(pk=exhausted.pk).update(state="running", attempts=2, worker=f"{host}:{dead_pid}",
                                               heartbeat_at=now)
    Job.objects.filter(pk=silent.pk).update(state="running", attempts=1, worker="gone:1", heartbeat_at=old)
    Job.objects.filter(pk=alive.pk).update(state="running", attempts=1, worker="other:1", heartbeat_at=now)
    Job.objects.filter(pk=lost.pk).update(enqueued_at=old)
    with django_capture_on_commit_callbacks(execute=True):
        stats = job_reap()
    assert stats == {"requeued": 2, "failed": 1, "resent": 1}
    states = dict(Job.objects.filter(pk__in=[j.pk for j in (orphan, exhausted, silent, alive, lost, fresh)])
                  .values_list("pk", "state"))
    assert states == {orphan.pk: "queued", exhausted.pk: "failed", silent.pk: "queued", alive.pk: "running",
                      lost.pk: "queued", fresh.pk: "queued"}
    assert sorted(args[0] for args, _q in sent) == sorted([orphan.pk, silent.pk, lost.pk])
    assert Job.objects.get(pk=lost.pk).enqueued_at > old


def test_the_log_keeps_its_tail(model_and_data, settings):
    from jobs.services.lifecycle import job_log_append

    settings.HUB_JOB_LOG_MAX_CHARS = 200
    model, sha, *_ = model_and_data
    job = job_submit(kind="selfcheck", repo=model, revision=sha)
    job_log_append(job=job, lines=[f"line {i:03d}" for i in range(100)])
    text = Job.objects.get(pk=job.pk).log
    assert len(text) <= 200 and text.startswith("[... earlier log lines dropped ...]\n")
    assert text.endswith("line 099\n") and "line 000" not in text


def flag_safetensors(repo, sha) -> set[str]:
    """A file guard for the test below (settings HUB_JOB_FILE_GUARDS)."""
    return {"model.safetensors"} if repo.repo_type == "model" else set()


def test_inputs_with_flagged_files_are_refused_before_loading(model_and_data, settings):
    settings.HUB_JOB_FILE_GUARDS = ["tests.jobs.test_execution.flag_safetensors"]
    model, sha, data, data_sha, _rows = model_and_data
    job = job_submit(kind="evaluate", repo=model, revision=sha,
                     params={"dataset": {"id": data.pk, "revision": data_sha},
                             "runner_params": eval_params(data.repo_id)})
    job_execute(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == "failed"
    assert job.error == (f"alice/clf at {sha[:12]} holds files flagged unsafe by the hub's scanner, "
                         "which jobs never load: model.safetensors")
    assert job.result["runs"]["head"]["status"] == "failed"


def test_the_default_guard_is_the_safety_scanner(settings):
    from django.utils.module_loading import import_string

    assert [import_string(g).__module__ for g in settings.HUB_JOB_FILE_GUARDS] == ["safety.scanning"]


def test_a_broker_outage_loses_no_job(model_and_data, settings, monkeypatch, django_capture_on_commit_callbacks):
    from jobs import tasks

    def down(args, queue):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.job_run, "apply_async", down)
    model, sha, *_ = model_and_data
    with django_capture_on_commit_callbacks(execute=True):
        job = job_submit(kind="selfcheck", repo=model, revision=sha)  # the write succeeds anyway
    assert Job.objects.get(pk=job.pk).state == "queued"

    sent: list = []
    monkeypatch.setattr(tasks.job_run, "apply_async", lambda args, queue: sent.append((args, queue)))
    settings.HUB_JOB_QUEUED_STALE_SECONDS = 0
    with django_capture_on_commit_callbacks(execute=True):
        assert job_reap()["resent"] == 1
    assert sent == [((job.pk,), "eval")]
    job_execute(job_id=job.pk)  # what the worker does with the re-sent message
    assert Job.objects.get(pk=job.pk).state == "succeeded"
