"""The safetensors summary computed after a commit (service and task, run in-process)."""
from __future__ import annotations

import io

import numpy as np
import pytest
from django.db import transaction
from safetensors.numpy import save

from repos.handles import git_repo
from repos.models import Repository
from repos.objects import storage_backend
from repos.services.analysis import enqueue_repo_analysis, repo_analyze_commit, safetensors_summary
from repos.tasks import repo_analyze
from tests.factories import RepositoryFactory, commit, lfs_pointer


def weights(**tensors: np.ndarray) -> bytes:
    return save(tensors)


@pytest.mark.django_db
def test_lfs_weights_are_counted_per_dtype(repo: Repository) -> None:
    data = weights(w=np.zeros((3, 4), np.float32), b=np.zeros(5, np.float32), ids=np.arange(7, dtype=np.int64))
    sha = commit(repo, lfs={"model.safetensors": data})

    summary = repo_analyze_commit(repo=repo, sha=sha)

    assert summary == {"parameters": {"F32": 17, "I64": 7}, "total": 24}
    repo.refresh_from_db()
    assert repo.safetensors == summary


@pytest.mark.django_db
def test_shards_add_up_and_plain_blobs_count_too(repo: Repository) -> None:
    sha = commit(repo, lfs={"model-00001-of-00002.safetensors": weights(a=np.zeros((10, 10), np.float16))}, files={
        "sub/model-00002-of-00002.safetensors": weights(b=np.zeros(6, np.float16)),  # a regular blob
        "pytorch_model.bin": b"not counted",
    })
    assert repo_analyze_commit(repo=repo, sha=sha) == {"parameters": {"F16": 106}, "total": 106}


@pytest.mark.django_db
def test_broken_and_missing_files_are_skipped(repo: Repository) -> None:
    sha = commit(repo, lfs={"ok.safetensors": weights(a=np.zeros(3, np.float32))}, files={
        "missing.safetensors": lfs_pointer(weights(c=np.zeros(50, np.float32))),  # never stored
        "garbage.safetensors": b"\xff" * 64,
    })
    assert repo_analyze_commit(repo=repo, sha=sha) == {"parameters": {"F32": 3}, "total": 3}


@pytest.mark.django_db
def test_no_weights_clears_the_summary(repo: Repository) -> None:
    commit(repo, lfs={"model.safetensors": weights(a=np.zeros(2, np.float32))})
    repo_analyze_commit(repo=repo, sha=repo.head_sha)
    sha = commit(repo, delete=["model.safetensors"], message="rm")

    assert repo_analyze_commit(repo=repo, sha=sha) is None
    repo.refresh_from_db()
    assert repo.safetensors is None


@pytest.mark.django_db
def test_a_commit_that_is_no_longer_the_head_is_not_stored(repo: Repository) -> None:
    old = commit(repo, lfs={"model.safetensors": weights(a=np.zeros(2, np.float32))})
    new = commit(repo, lfs={"model.safetensors": weights(a=np.zeros(9, np.float32))})
    repo_analyze_commit(repo=repo, sha=new)
    # The task of the older commit finishing last must not overwrite the newer summary.
    assert repo_analyze_commit(repo=repo, sha=old) == {"parameters": {"F32": 2}, "total": 2}
    repo.refresh_from_db()
    assert repo.safetensors == {"parameters": {"F32": 9}, "total": 9}
    # Nor does a commit on another branch.
    other = commit(repo, lfs={"x.safetensors": weights(a=np.zeros(4, np.float32))}, ref="dev", create=True)
    repo_analyze_commit(repo=repo, sha=other)
    repo.refresh_from_db()
    assert repo.safetensors["total"] == 9


@pytest.mark.django_db
def test_summary_reads_headers_only(repo: Repository, monkeypatch: pytest.MonkeyPatch) -> None:
    data = weights(big=np.zeros(256 * 1024, np.float32))  # 1 MiB of tensor data
    sha = commit(repo, lfs={"model.safetensors": data})
    store = storage_backend()
    sizes: list[int] = []

    class CountingFile(io.FileIO):  # unbuffered: every byte read is one the reader asked for
        def read(self, n: int = -1, /) -> bytes:
            chunk = super().read(n)
            sizes.append(len(chunk))
            return chunk

    monkeypatch.setattr(store, "open", lambda oid: CountingFile(store.path_for(oid)))

    summary = safetensors_summary(repo=repo, git=git_repo(repo), sha=sha)

    assert summary == {"parameters": {"F32": 256 * 1024}, "total": 256 * 1024}
    header_length = int.from_bytes(data[:8], "little")
    assert sum(sizes) == 8 + header_length < 200


@pytest.mark.django_db(transaction=True)
def test_enqueue_runs_the_task_after_commit(alice, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(repo_analyze.app.conf, "task_always_eager", True)
    repo = RepositoryFactory(owner=alice, name="queued")
    with transaction.atomic():
        sha = commit(repo, lfs={"model.safetensors": weights(a=np.zeros((2, 3), np.float32))})
        enqueue_repo_analysis(repo, sha)
        repo.refresh_from_db()
        assert repo.safetensors is None  # nothing runs before the transaction commits
    repo.refresh_from_db()
    assert repo.safetensors == {"parameters": {"F32": 6}, "total": 6}


@pytest.mark.django_db
def test_task_returns_quietly_for_a_missing_repo_or_commit(repo: Repository) -> None:
    assert repo_analyze.run(987654, "0" * 40) is None
    assert repo_analyze.run(repo.pk, "1" * 40) is None
    repo.refresh_from_db()
    assert repo.safetensors is None


@pytest.mark.django_db
def test_objects_of_other_repositories_are_never_read(repo: Repository, alice) -> None:
    """A pointer to an object stored for another repository (a known sha256) is skipped like
    a missing object: the analysis reads through the byte door, which applies the gate."""
    sha = commit(repo, lfs={"model.safetensors": weights(a=np.zeros(3, np.float32))}, link_lfs=False)
    assert safetensors_summary(repo=repo, git=git_repo(repo), sha=sha) is None
