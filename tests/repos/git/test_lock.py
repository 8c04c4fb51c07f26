"""The per-repository lock: exclusive across processes and threads, re-entrant per thread."""
from __future__ import annotations

import multiprocessing
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from repos.git.errors import GitError, RepoLocked
from repos.git.lock import is_locked_by_me, repo_lock

FORK = multiprocessing.get_context("fork")


def _hold_lock(git_dir: Path, ready: Connection, release: Connection) -> None:
    with repo_lock(git_dir, timeout=5):
        ready.send("held")
        release.recv()


def _try_lock(git_dir: Path, result: Connection) -> None:
    try:
        with repo_lock(git_dir, timeout=0.1):
            result.send("acquired")
    except RepoLocked:
        result.send("locked")


def test_reentrant_within_a_thread(tmp_path: Path) -> None:
    assert not is_locked_by_me(tmp_path)
    with repo_lock(tmp_path):
        assert is_locked_by_me(tmp_path)
        # timeout=0: a nested acquisition must not wait on itself.
        with repo_lock(tmp_path, timeout=0):
            with repo_lock(tmp_path / ".." / tmp_path.name, timeout=0):  # another spelling
                assert is_locked_by_me(tmp_path)
        assert is_locked_by_me(tmp_path)  # the inner exits did not release it
    assert not is_locked_by_me(tmp_path)


def test_other_process_times_out_then_gets_the_lock(tmp_path: Path) -> None:
    ready_recv, ready_send = FORK.Pipe(duplex=False)
    release_recv, release_send = FORK.Pipe(duplex=False)
    holder = FORK.Process(target=_hold_lock, args=(tmp_path, ready_send, release_recv))
    holder.start()
    try:
        assert ready_recv.recv() == "held"
        started = time.monotonic()
        with pytest.raises(RepoLocked):
            with repo_lock(tmp_path, timeout=0.3):
                pass
        assert time.monotonic() - started >= 0.3
        release_send.send("go")
        holder.join(5)
        assert holder.exitcode == 0
        with repo_lock(tmp_path, timeout=1):
            assert is_locked_by_me(tmp_path)
    finally:
        if holder.is_alive():
            holder.kill()


def test_lock_excludes_other_threads(tmp_path: Path) -> None:
    outcome: list[str] = []

    def other() -> None:
        try:
            with repo_lock(tmp_path, timeout=0.1):
                outcome.append("acquired")
        except RepoLocked:
            outcome.append("locked")

    with repo_lock(tmp_path):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert outcome == ["locked"]
    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert outcome == ["locked", "acquired"]


def test_released_when_the_block_raises(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        with repo_lock(tmp_path):
            raise ValueError("boom")
    assert not is_locked_by_me(tmp_path)
    result_recv, result_send = FORK.Pipe(duplex=False)
    child = FORK.Process(target=_try_lock, args=(tmp_path, result_send))
    child.start()
    assert result_recv.recv() == "acquired"
    child.join(5)


def test_forked_child_does_not_inherit_the_lock(tmp_path: Path) -> None:
    # A child forked while the parent holds the lock shares the parent's open file; it must
    # not believe it holds the lock (that would let both write at once).
    with repo_lock(tmp_path):
        result_recv, result_send = FORK.Pipe(duplex=False)
        child = FORK.Process(target=_try_lock, args=(tmp_path, result_send))
        child.start()
        assert result_recv.recv() == "locked"
        child.join(5)
        assert is_locked_by_me(tmp_path)  # and the child did not release ours


def test_missing_repository_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(GitError):
        with repo_lock(tmp_path / "missing.git"):
            pass
