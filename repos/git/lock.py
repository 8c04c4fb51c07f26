"""The per-repository write lock: exclusive, fair (first come, first served), crash-safe.

Every write through the git layer (commits, ref updates, merges) and every push (from its
pre-receive to its post-receive hook) runs under this lock so that "read the head, build on
it, move the ref" sequences from several gunicorn workers, Celery workers and git hooks do not
interleave. Two pieces of state live beside the repository:

* `<git_dir>/hub.lock`: an exclusive `flock(2)`, the mutual exclusion itself. flock locks
  belong to an open file description, so they exclude other processes *and* other threads of
  this process (each acquisition opens its own descriptor), and the kernel drops them when a
  process dies: a crashed worker never leaves a stale lock behind.
* `<git_dir>/hub.lock.queue/`: the waiting line. A bare flock is not fair: waiters poll it, so a
  writer that releases and re-takes it at once (an API client committing in a loop) wins
  nearly every handover against one that polls with backoff (a git push arriving from its
  pre-receive hook). Measured before this queue: 432 refused pushes against 4 accepted. Now
  each acquisition first draws a ticket, `t<number>`, numbered one past the highest ticket in
  the directory while holding a flock on the directory itself (so numbers are handed out one
  at a time and only grow while anyone waits), and keeps an exclusive flock on its ticket file
  for as long as it waits and holds. It takes `hub.lock` only once no smaller ticket is left:
  turns go in ticket order, across processes and threads alike.

Crash safety: a ticket whose flock can be taken has lost its owner (a live owner keeps its
flock until it has unlinked the file), so the waiter right behind it deletes it and moves up;
a killed holder or waiter never blocks the line. The waiter watches only the ticket just ahead
of it, and the one next in line polls it more often than those further back.

* The lock is re-entrant per thread: a service may hold it around several layer calls that
  each take it again. Depth is tracked in thread-local state keyed by the lock file path.
* A wait is bounded by `timeout`; then the waiter leaves the line and `RepoLocked` is raised.
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
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from repos.git.errors import GitError, RepoLocked

LOCK_FILE_NAME = "hub.lock"
QUEUE_SUFFIX = ".queue"
_TICKET_PREFIX = "t"
_TICKET_DIGITS = 20

# Poll interval bounds: start short so an uncontended handover is fast, back off so a long
# wait does not spin. The waiter next in line polls its predecessor (the holder) at most
# every _POLL_NEXT_MAX; waiters further back slow down to _POLL_MAX.
_POLL_MIN = 0.001
_POLL_NEXT_MAX = 0.002
_POLL_MAX = 0.05
# Drawing a ticket holds the queue directory's flock for a few system calls; waiting for it is
# never "the repository is busy", so even a single attempt (timeout=0) may wait this long.
_GUARD_WAIT = 1.0

_BUSY = (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES)


@dataclass
class _Ticket:
    number: int
    path: str
    fd: int
    ahead: list[int]  # ticket numbers seen in line before this one when it was drawn


@dataclass
class _Held:
    fd: int
    ticket: _Ticket
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
    # locks (the lock's and the tickets'). If it believed it held the lock it would run
    # concurrently with the parent, so it forgets all state. It closes its copies of the
    # descriptors without LOCK_UN: unlocking would release the parent's lock (or make the
    # parent's ticket look abandoned), while close() only drops this reference.
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


def _track(fd: int) -> int:
    with _all_fds_guard:
        _all_fds.add(fd)
    return fd


def _close(fd: int) -> None:
    with _all_fds_guard:
        _all_fds.discard(fd)
    os.close(fd)


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

    Waits its turn (first come, first served) up to `timeout` seconds (0 means a single
    attempt), then raises RepoLocked. Re-entrant within a thread: nested uses return
    immediately and only the outermost exit releases the lock.
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

    fd, ticket = _acquire(key, git_dir, timeout)
    held[key] = _Held(fd=fd, ticket=ticket, depth=1, pid=os.getpid())
    try:
        yield
    finally:
        del held[key]
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            _close(fd)
            _leave(ticket)


def _acquire(key: str, git_dir: Path, timeout: float) -> tuple[int, _Ticket]:
    try:
        # O_CLOEXEC (Python's default) keeps the descriptor, and so the lock, out of git
        # subprocesses we spawn while holding it.
        fd = _track(os.open(key, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o664))
    except FileNotFoundError:
        raise GitError(f"Repository does not exist: {git_dir}") from None
    start = time.monotonic()
    deadline = start + max(timeout, 0.0)
    ticket: _Ticket | None = None
    try:
        ticket = _draw_ticket(key + QUEUE_SUFFIX, max(deadline, start + _GUARD_WAIT), timeout)
        _wait_for_turn(key + QUEUE_SUFFIX, ticket, deadline, timeout)
        # Our turn. The flock is normally free at once; it still guards against writers that
        # do not queue (a process of an older release during an upgrade).
        _flock(fd, deadline, timeout)
        return fd, ticket
    except BaseException:
        if ticket is not None:
            _leave(ticket)
        _close(fd)
        raise


def _busy(timeout: float) -> RepoLocked:
    return RepoLocked(
        f"The repository is busy (lock held by another writer for more than {timeout:g}s); retry later"
    )


def _flock(fd: int, deadline: float, timeout: float) -> None:
    """Take an exclusive flock on `fd`, polling until `deadline`."""
    delay = _POLL_MIN
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in _BUSY:
                raise
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _busy(timeout)
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, _POLL_MAX)


def _ticket_numbers(queue_dir: str) -> list[int]:
    numbers = []
    for name in os.listdir(queue_dir):
        if name.startswith(_TICKET_PREFIX) and name[1:].isdigit():
            numbers.append(int(name[1:]))
    return numbers


def _ticket_path(queue_dir: str, number: int) -> str:
    return os.path.join(queue_dir, f"{_TICKET_PREFIX}{number:0{_TICKET_DIGITS}d}")


def _draw_ticket(queue_dir: str, deadline: float, timeout: float) -> _Ticket:
    """Join the line: a ticket numbered after every ticket present, flocked by us.

    Numbers are handed out under the queue directory's flock, and the new ticket is flocked
    before that flock is released: a ticket that anyone can see is either owned (flocked) or
    abandoned. A number is reused only after the whole line has emptied, when nobody can
    still be comparing against the old one.
    """
    with suppress(FileExistsError):
        os.mkdir(queue_dir, 0o775)
    dir_fd = _track(os.open(queue_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))
    try:
        _flock(dir_fd, deadline, timeout)
        try:
            ahead = _ticket_numbers(queue_dir)
            number = max(ahead, default=0) + 1
            path = _ticket_path(queue_dir, number)
            ticket_fd = _track(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o664))
            try:
                fcntl.flock(ticket_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BaseException:
                with suppress(FileNotFoundError):
                    os.unlink(path)
                _close(ticket_fd)
                raise
        finally:
            fcntl.flock(dir_fd, fcntl.LOCK_UN)
    finally:
        _close(dir_fd)
    return _Ticket(number=number, path=path, fd=ticket_fd, ahead=sorted(ahead))


def _leave(ticket: _Ticket) -> None:
    """Leave the line (after holding the lock, or on timeout). Unlink first, then drop the
    flock: the owner of a ticket that is still linked but not flocked is dead."""
    try:
        with suppress(FileNotFoundError):
            os.unlink(ticket.path)
        with suppress(OSError):
            fcntl.flock(ticket.fd, fcntl.LOCK_UN)
    finally:
        _close(ticket.fd)


def _wait_for_turn(queue_dir: str, ticket: _Ticket, deadline: float, timeout: float) -> None:
    """Return once no ticket before ours is left; raise RepoLocked at `deadline`."""
    ahead: list[int] | None = ticket.ahead
    watched_fd: int | None = None
    predecessor = ""
    delay = _POLL_MIN
    cap = _POLL_MAX
    try:
        while True:
            if watched_fd is None:
                if ahead is None:
                    ahead = sorted(n for n in _ticket_numbers(queue_dir) if n < ticket.number)
                if not ahead:
                    return
                predecessor = _ticket_path(queue_dir, ahead[-1])
                cap = _POLL_NEXT_MAX if len(ahead) == 1 else _POLL_MAX
                ahead = None
                try:
                    watched_fd = _track(os.open(predecessor, os.O_RDONLY | os.O_CLOEXEC))
                except FileNotFoundError:
                    continue  # it left meanwhile: look again
            if os.fstat(watched_fd).st_nlink == 0:
                # Its owner left the line (owners unlink before they let go).
                _close(watched_fd)
                watched_fd, delay = None, _POLL_MIN
                continue
            try:
                fcntl.flock(watched_fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in _BUSY:
                    raise
            else:
                # Linked but not flocked: its owner died (killed while waiting or holding).
                # Remove it for everyone behind.
                with suppress(FileNotFoundError):
                    os.unlink(predecessor)
                _close(watched_fd)
                watched_fd, delay = None, _POLL_MIN
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _busy(timeout)
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, cap)
            if cap == _POLL_MAX and sum(1 for n in _ticket_numbers(queue_dir) if n < ticket.number) <= 1:
                # Moved up to next in line (those between us and the holder left): poll faster.
                cap, delay = _POLL_NEXT_MAX, _POLL_MIN
    finally:
        if watched_fd is not None:
            _close(watched_fd)
