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


# ---------------------------------------------------------------- fairness and crash safety

def _greedy(git_dir: Path, until: float, counts: list[int], index: int) -> None:
    # An API committer in a loop: takes the lock again the moment it let it go.
    while time.monotonic() < until:
        try:
            with repo_lock(git_dir, timeout=5):
                time.sleep(0.001)
        except RepoLocked:
            counts[index + 1] += 1
            continue
        counts[index] += 1


def _polite(git_dir: Path, until: float, result: Connection) -> None:
    # A git push: some work outside the lock (receive the pack), then a turn under it.
    got = timeouts = 0
    while time.monotonic() < until:
        time.sleep(0.004)
        try:
            with repo_lock(git_dir, timeout=5):
                time.sleep(0.001)
        except RepoLocked:
            timeouts += 1
            continue
        got += 1
    result.send((got, timeouts))


def test_two_kinds_of_writers_both_get_turns(tmp_path: Path) -> None:
    """Writers that re-take the lock at once (threads of this process) must not starve
    writers that come back after a pause (other processes): both kinds get a fair share.
    With a polled flock the pausing kind got a few percent of the turns."""
    kinds = 3
    until = time.monotonic() + 1.5
    pipes = [FORK.Pipe(duplex=False) for _ in range(kinds)]
    procs = [FORK.Process(target=_polite, args=(tmp_path, until, send)) for _recv, send in pipes]
    for proc in procs:
        proc.start()
    counts = [0, 0] * kinds
    threads = [threading.Thread(target=_greedy, args=(tmp_path, until, counts, 2 * i)) for i in range(kinds)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        results = [recv.recv() if recv.poll(30) else (0, -1) for recv, _send in pipes]
    finally:
        for proc in procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
    greedy = sum(counts[0::2])
    polite = sum(got for got, _ in results)
    timeouts = sum(counts[1::2]) + sum(t for _, t in results)
    total = greedy + polite
    assert timeouts == 0, (results, counts)
    assert total > 50, (greedy, polite)  # both kinds were really contending
    assert greedy >= 0.25 * total and polite >= 0.25 * total, f"greedy {greedy}, polite {polite}"


def _count_under_lock(git_dir: Path, rounds: int, done: Connection) -> None:
    counter = git_dir / "counter"
    for _ in range(rounds):
        with repo_lock(git_dir, timeout=20):
            value = int(counter.read_text())
            counter.write_text(str(value + 1))  # read-modify-write: lost updates if not exclusive
    done.send("ok")


def test_mutual_exclusion_across_processes(tmp_path: Path) -> None:
    (tmp_path / "counter").write_text("0")
    pipes = [FORK.Pipe(duplex=False) for _ in range(4)]
    procs = [FORK.Process(target=_count_under_lock, args=(tmp_path, 100, send)) for _recv, send in pipes]
    for proc in procs:
        proc.start()
    try:
        assert all(recv.poll(60) and recv.recv() == "ok" for recv, _send in pipes)
    finally:
        for proc in procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
    assert (tmp_path / "counter").read_text() == "400"


def _hold_until_killed(git_dir: Path, ready: Connection) -> None:
    with repo_lock(git_dir, timeout=5):
        ready.send("held")
        time.sleep(60)


def _wait_in_line(git_dir: Path, ready: Connection) -> None:
    ready.send("queued")
    try:
        with repo_lock(git_dir, timeout=60):
            ready.send("acquired")
    except RepoLocked:
        ready.send("timeout")


def test_a_killed_holder_never_blocks_the_line(tmp_path: Path) -> None:
    ready_recv, ready_send = FORK.Pipe(duplex=False)
    holder = FORK.Process(target=_hold_until_killed, args=(tmp_path, ready_send))
    holder.start()
    try:
        assert ready_recv.poll(10) and ready_recv.recv() == "held"
        holder.kill()  # SIGKILL while holding: no cleanup ran
        holder.join(10)
        started = time.monotonic()
        with repo_lock(tmp_path, timeout=5):
            assert is_locked_by_me(tmp_path)
        assert time.monotonic() - started < 2
    finally:
        if holder.is_alive():
            holder.kill()
    assert _queue_entries(tmp_path) == []  # the dead ticket was cleared


def test_a_killed_waiter_never_blocks_those_behind_it(tmp_path: Path) -> None:
    first_recv, first_send = FORK.Pipe(duplex=False)
    second_recv, second_send = FORK.Pipe(duplex=False)
    with repo_lock(tmp_path):
        doomed = FORK.Process(target=_wait_in_line, args=(tmp_path, first_send))
        doomed.start()
        assert first_recv.poll(10) and first_recv.recv() == "queued"
        _wait_until(lambda: len(_queue_entries(tmp_path)) == 2, "the first waiter's ticket")
        behind = FORK.Process(target=_wait_in_line, args=(tmp_path, second_send))
        behind.start()
        try:
            assert second_recv.poll(10) and second_recv.recv() == "queued"
            _wait_until(lambda: len(_queue_entries(tmp_path)) == 3, "the second waiter's ticket")
            doomed.kill()  # dies in line, ahead of `behind`
            doomed.join(10)
        except BaseException:
            behind.kill()
            raise
    try:
        assert second_recv.poll(10), "the waiter behind a dead one never got the lock"
        assert second_recv.recv() == "acquired"
    finally:
        behind.join(10)
        if behind.is_alive():
            behind.kill()
    assert _queue_entries(tmp_path) == []


def test_turns_follow_arrival_order(tmp_path: Path) -> None:
    order: list[int] = []
    queued = threading.Semaphore(0)

    def writer(n: int) -> None:
        queued.release()
        with repo_lock(tmp_path, timeout=20):
            order.append(n)

    threads = []
    with repo_lock(tmp_path):
        for n in range(6):
            thread = threading.Thread(target=writer, args=(n,))
            thread.start()
            threads.append(thread)
            assert queued.acquire(timeout=10)
            _wait_until(lambda n=n: len(_queue_entries(tmp_path)) == n + 2, f"writer {n} in line")
    for thread in threads:
        thread.join(20)
    assert order == list(range(6))


def test_timeout_leaves_the_line(tmp_path: Path) -> None:
    with repo_lock(tmp_path):
        outcome: list[str] = []

        def late() -> None:
            try:
                with repo_lock(tmp_path, timeout=0.2):
                    outcome.append("acquired")
            except RepoLocked:
                outcome.append("locked")

        thread = threading.Thread(target=late)
        thread.start()
        thread.join(10)
        assert outcome == ["locked"]
        assert len(_queue_entries(tmp_path)) == 1  # only ours
    assert _queue_entries(tmp_path) == []


def _queue_entries(git_dir: Path) -> list[str]:
    queue = git_dir / "hub.lock.queue"
    return sorted(p.name for p in queue.iterdir()) if queue.exists() else []


def _wait_until(predicate, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)
