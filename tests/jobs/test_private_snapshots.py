"""Snapshots of repositories encrypted at rest are materialised in memory (a tmpfs), not on the
data disk."""
from __future__ import annotations

from pathlib import Path

import pytest

from jobs.services.execution import _snapshot_root
from jobs.snapshots import snapshot
from tests.factories import commit

pytestmark = pytest.mark.django_db


def test_private_snapshots_go_to_the_memory_backed_directory(make_repo, settings, tmp_path):
    settings.HUB_JOBS_PRIVATE_SNAPSHOT_DIR = str(tmp_path / "shm")
    root = Path(settings.HUB_JOBS_DIR)
    private, public = make_repo("p", private=True), make_repo("q")
    assert _snapshot_root(private, root) == tmp_path / "shm"
    assert _snapshot_root(public, root) == root / "snapshots"
    sha = commit(private, lfs={"w.bin": b"private weights " * 100})
    with snapshot(repo=private, sha=sha, root=_snapshot_root(private, root)) as path:
        assert path.parent == tmp_path / "shm"
        assert (path / "w.bin").read_bytes() == b"private weights " * 100
    settings.HUB_JOBS_PRIVATE_SNAPSHOT_DIR = ""
    assert _snapshot_root(private, root) == root / "snapshots"


def test_a_job_that_reads_or_writes_an_encrypted_repository_works_in_memory(make_repo, settings, tmp_path):
    """Its outputs (a fine-tuned model, metrics) are content of that repository too."""
    from jobs.models import Job
    from jobs.services.execution import RunPlan, _work_root

    settings.HUB_JOBS_PRIVATE_SNAPSHOT_DIR = str(tmp_path / "shm")
    root = Path(settings.HUB_JOBS_DIR)
    private, public = make_repo("enc-data", private=True), make_repo("plain-model")
    job = Job(repository=public, kind=Job.Kind.FINETUNE)
    reads_private = [RunPlan("train", "finetune", {"model": (public, "a" * 40), "dataset": (private, "b" * 40)}, {})]
    reads_public = [RunPlan("train", "finetune", {"model": (public, "a" * 40)}, {})]
    assert _work_root(job, reads_private, root) == tmp_path / "shm" / "work"
    assert _work_root(job, reads_public, root) == root / "work"
    assert _work_root(Job(repository=private, kind=Job.Kind.FINETUNE), reads_public, root) == tmp_path / "shm" / "work"
    settings.HUB_JOBS_PRIVATE_SNAPSHOT_DIR = ""
    assert _work_root(job, reads_private, root) == root / "work"
