"""The repo write lock as services take it: one configurable wait for every writer.

`HUB_REPO_LOCK_TIMEOUT` (seconds, default 30) bounds how long a request waits for another
writer of the same repository before answering 409 (RepoBusy, retryable). Waiting writers take
their turns first come, first served, whichever path they came by (API commit, push, merge):
see repos/git/lock.py.
"""
from __future__ import annotations

from contextlib import AbstractContextManager

from django.conf import settings

from repos.git.lock import repo_lock
from repos.git.repository import GitRepo

DEFAULT_LOCK_TIMEOUT = 30.0


def repo_write_lock(git: GitRepo) -> AbstractContextManager[None]:
    return repo_lock(git.path, float(getattr(settings, "HUB_REPO_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT)))
