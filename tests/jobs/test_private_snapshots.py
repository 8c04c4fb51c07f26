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
