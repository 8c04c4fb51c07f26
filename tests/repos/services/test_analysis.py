"""The safetensors summary computed after a commit (service and task, run in-process)."""
from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from django.db import transaction
from safetensors.numpy import save

from repos import objects
from repos.git.commit import DeleteFile, PutFile, Signature, commit_to_ref
from repos.handles import git_repo
from repos.lfs.pointer import format_pointer, parse_pointer
from repos.models import Repository
from repos.objects import storage_backend
from repos.services.analysis import enqueue_repo_analysis, repo_analyze_commit, safetensors_summary
from repos.services.index import repo_reindex
from repos.services.repos import repo_create
from repos.tasks import repo_analyze

AUTHOR = Signature("Alice", "alice@example.com")


def weights(**tensors: np.ndarray) -> bytes:
    return save(tensors)


def as_lfs(data: bytes, *, store: bool = True) -> bytes:
    """The pointer for `data`, with the object put in the LFS store unless `store` is False."""
    oid = hashlib.sha256(data).hexdigest()
    if store:
        storage_backend().write_stream(oid, len(data), io.BytesIO(data))
    return format_pointer(oid, len(data))


def commit(repo: Repository, files: dict[str, bytes], *, branch: str = "main", link: bool = True) -> str:
    """Commit `files`; the LFS objects they point to (if stored) are linked to `repo`, as an
    upload to it would, unless `link` is False."""
    for data in files.values():
        pointer = parse_pointer(data)
        if link and pointer is not None and storage_backend().size(pointer.oid) == pointer.size:
            objects.link(repo=repo, oid=pointer.oid, size=pointer.size)
    git = git_repo(repo)
    sha = commit_to_ref(git, ref=branch, ops=[PutFile(p, d) for p, d in files.items()], author=AUTHOR,
                        message="add files", create=branch != "main")
    repo_reindex(repo=repo, git=git)
    return sha


@pytest.fixture
def repo(alice) -> Repository:
    return repo_create(user=alice, namespace="alice", name="tiny")


@pytest.mark.django_db
def test_lfs_weights_are_counted_per_dtype(repo: Repository) -> None:
    data = weights(w=np.zeros((3, 4), np.float32), b=np.zeros(5, np.float32), ids=np.arange(7, dtype=np.int64))
    sha = commit(repo, {"model.safetensors": as_lfs(data)})

    summary = repo_analyze_commit(repo=repo, sha=sha)

    assert summary == {"parameters": {"F32": 17, "I64": 7}, "total": 24}
    repo.refresh_from_db()
    assert repo.safetensors == summary


@pytest.mark.django_db
def test_shards_add_up_and_plain_blobs_count_too(repo: Repository) -> None:
    sha = commit(repo, {
        "model-00001-of-00002.safetensors": as_lfs(weights(a=np.zeros((10, 10), np.float16))),
        "sub/model-00002-of-00002.safetensors": weights(b=np.zeros(6, np.float16)),  # a regular blob
        "pytorch_model.bin": b"not counted",
    })
    assert repo_analyze_commit(repo=repo, sha=sha) == {"parameters": {"F16": 106}, "total": 106}


@pytest.mark.django_db
def test_broken_and_missing_files_are_skipped(repo: Repository) -> None:
    sha = commit(repo, {
        "ok.safetensors": as_lfs(weights(a=np.zeros(3, np.float32))),
        "missing.safetensors": as_lfs(weights(c=np.zeros(50, np.float32)), store=False),
        "garbage.safetensors": b"\xff" * 64,
    })
    assert repo_analyze_commit(repo=repo, sha=sha) == {"parameters": {"F32": 3}, "total": 3}


@pytest.mark.django_db
def test_no_weights_clears_the_summary(repo: Repository) -> None:
    commit(repo, {"model.safetensors": as_lfs(weights(a=np.zeros(2, np.float32)))})
    repo_analyze_commit(repo=repo, sha=repo.head_sha)
    git = git_repo(repo)
    sha = commit_to_ref(git, ref="main", ops=[DeleteFile("model.safetensors")], author=AUTHOR, message="rm")
    repo_reindex(repo=repo, git=git)

    assert repo_analyze_commit(repo=repo, sha=sha) is None
    repo.refresh_from_db()
    assert repo.safetensors is None


@pytest.mark.django_db
def test_a_commit_that_is_no_longer_the_head_is_not_stored(repo: Repository) -> None:
    old = commit(repo, {"model.safetensors": as_lfs(weights(a=np.zeros(2, np.float32)))})
    new = commit(repo, {"model.safetensors": as_lfs(weights(a=np.zeros(9, np.float32)))})
    repo_analyze_commit(repo=repo, sha=new)
    # The task of the older commit finishing last must not overwrite the newer summary.
    assert repo_analyze_commit(repo=repo, sha=old) == {"parameters": {"F32": 2}, "total": 2}
    repo.refresh_from_db()
    assert repo.safetensors == {"parameters": {"F32": 9}, "total": 9}
    # Nor does a commit on another branch.
    other = commit(repo, {"x.safetensors": as_lfs(weights(a=np.zeros(4, np.float32)))}, branch="dev")
    repo_analyze_commit(repo=repo, sha=other)
    repo.refresh_from_db()
    assert repo.safetensors["total"] == 9


@pytest.mark.django_db
def test_summary_reads_headers_only(repo: Repository, monkeypatch: pytest.MonkeyPatch) -> None:
    data = weights(big=np.zeros(256 * 1024, np.float32))  # 1 MiB of tensor data
    sha = commit(repo, {"model.safetensors": as_lfs(data)})
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
    repo = repo_create(user=alice, namespace="alice", name="queued")
    with transaction.atomic():
        sha = commit(repo, {"model.safetensors": as_lfs(weights(a=np.zeros((2, 3), np.float32)))})
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
    sha = commit(repo, {"model.safetensors": as_lfs(weights(a=np.zeros(3, np.float32)))}, link=False)
    assert safetensors_summary(repo=repo, git=git_repo(repo), sha=sha) is None
