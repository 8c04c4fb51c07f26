"""The per-repository write lock.

Every write through the git layer (commits, ref updates, merges) runs under this lock so that
"read the head, build on it, move the ref" sequences from several gunicorn workers, Celery
workers and git hooks do not interleave. It is an exclusive `flock(2)` on
`<git_dir>/hub.lock`:

* flock locks belong to an open file description, so they exclude other processes *and* other
  threads of this process (each acquisition opens its own descriptor), and the kernel drops
  them when a process dies: a crashed worker never leaves a stale lock behind.
* The lock is re-entrant per thread: a service may hold it around several layer calls that
  each take it again. Depth is tracked in thread-local state keyed by the lock file path.
* The lock does not replace git's own ref lockfiles; `git receive-pack` does not take it. Ref
  updates are still compare-and-swap (see `commit.update_ref`), this lock only serializes our
  own writers so that they rarely lose that race.
"""
from __future__ import annotations

import errno
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from repos.git.errors import GitError, RepoLocked

LOCK_FILE_NAME = "hub.lock"

# Poll interval bounds: start short so an uncontended handover is fast, back off so a long
# wait does not spin.
_POLL_MIN = 0.002
_POLL_MAX = 0.05


@dataclass
class _Held:
    fd: int
    depth: int
    pid: int


_local = threading.local()
# Every descriptor held by any thread of this process, so a forked child can close them.
_all_fds: set[int] = set()
_all_fds_guard = threading.Lock()


def _held() -> dict[str, _Held]:
    held: dict[str, _Held] | None = getattr(_local, "held", None)
    if held is None:
        held = {}
        _local.held = held
    return held


def _after_fork_in_child() -> None:
    # A child created by fork() shares the parent's open file descriptions, hence its flock
    # locks. If it believed it held the lock it would run concurrently with the parent, so it
    # forgets all state. It closes its copies of the descriptors without LOCK_UN: unlocking
    # would release the parent's lock, while close() only drops this reference.
    global _local, _all_fds_guard
    _local = threading.local()
    # Another thread may have held the guard at fork time; it does not exist in the child.
    _all_fds_guard = threading.Lock()
    fds = list(_all_fds)
    _all_fds.clear()
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _lock_key(git_dir: Path) -> str:
    # realpath so that two spellings of the same repository share one depth counter.
    return os.path.realpath(os.path.join(os.fspath(git_dir), LOCK_FILE_NAME))


def is_locked_by_me(git_dir: Path) -> bool:
    """True when the current thread holds the lock of `git_dir`."""
    entry = _held().get(_lock_key(git_dir))
    return entry is not None and entry.pid == os.getpid()


@contextmanager
def repo_lock(git_dir: Path, timeout: float = 30.0) -> Iterator[None]:
    """Hold the exclusive lock of the repository at `git_dir` for the `with` block.

    Waits up to `timeout` seconds (0 means a single attempt), then raises RepoLocked.
    Re-entrant within a thread: nested uses return immediately and only the outermost exit
    releases the lock.
    """
    key = _lock_key(git_dir)
    held = _held()
    entry = held.get(key)
    if entry is not None and entry.pid == os.getpid():
        entry.depth += 1
        try:
            yield
        finally:
            entry.depth -= 1
        return

    fd = _acquire(key, git_dir, timeout)
    held[key] = _Held(fd=fd, depth=1, pid=os.getpid())
    try:
        yield
    finally:
        del held[key]
        with _all_fds_guard:
            _all_fds.discard(fd)
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def _acquire(key: str, git_dir: Path, timeout: float) -> int:
    try:
        # O_CLOEXEC (Python's default) keeps the descriptor, and so the lock, out of git
        # subprocesses we spawn while holding it.
        fd = os.open(key, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o664)
    except FileNotFoundError:
        raise GitError(f"Repository does not exist: {git_dir}") from None
    with _all_fds_guard:
        _all_fds.add(fd)
    deadline = time.monotonic() + max(timeout, 0.0)
    delay = _POLL_MIN
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RepoLocked(
                    f"The repository is busy (lock held by another writer for more than "
                    f"{timeout:g}s); retry later"
                )
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, _POLL_MAX)
    except BaseException:
        with _all_fds_guard:
            _all_fds.discard(fd)
        os.close(fd)
        raise
