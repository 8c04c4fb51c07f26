"""Subscribers of the event door (`repos.events`): every new commit of any ref is scanned."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction

from repos.events import RefsUpdated


def scan_on_refs_updated(event: RefsUpdated) -> None:
    """Enqueue `safety.scan_revision` for each new head the event announces (branches, tags,
    pull request refs), whichever path moved it (API, git push, browser, merge, squash).
    Already-judged content is not scanned again, so only new files cost anything."""
    from safety.tasks import scan_revision

    repo_pk = event.repo.pk
    for sha in dict.fromkeys(c.new for c in event.changes if c.new is not None):
        transaction.on_commit(_enqueue(scan_revision, repo_pk, sha), robust=True)


def _enqueue(task: Any, repo_pk: int, sha: str) -> Callable[[], None]:
    return lambda: task.delay(repo_pk, sha)
