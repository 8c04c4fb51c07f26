"""THE event door: the one announcement that a repository's refs moved.

Every path that moves a ref calls `refs_updated(...)` inside the transaction that refreshed the
database index: API commits (`create_pr` and commits to `refs/pr/N` included), git pushes,
branch and tag creation and deletion, super-squash, browser uploads and editor commits, merges.
The door

* records one audit event for the change, in that transaction (so a change and its audit row
  commit together);
* sends one `RefsUpdated` to every subscriber once the transaction commits
  (`transaction.on_commit`): never for a change that was rolled back.

Subscribers are registered by the apps that react (`subscribe` in their `AppConfig.ready`);
`repos` imports none of them. A subscriber that raises is logged and never breaks the write or
the other subscribers. Subscribers must be quick (enqueue work, write a row): they run in the
request, sometimes under the repository lock.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from django.db import transaction

from accounts.models import User
from accounts.permissions import Principal, is_signed_in
from accounts.services.audit import audit
from repos.models import Repository

logger = logging.getLogger(__name__)

ZERO_SHA = "0" * 40
Origin = Literal["api", "git", "web", "merge", "squash", "pr"]
ORIGINS: tuple[str, ...] = ("api", "git", "web", "merge", "squash", "pr")


@dataclass(frozen=True)
class RefChange:
    """One ref's move: `old` is None for a creation, `new` None for a deletion."""

    ref: str
    old: str | None
    new: str | None

    @property
    def summary(self) -> str:
        return f"{self.ref} {self.old or '-'}..{self.new or '-'}"


@dataclass(frozen=True)
class RefsUpdated:
    """The refs of `repo` moved, by `actor` (None: the hub itself), through `origin`."""

    repo: Repository
    changes: tuple[RefChange, ...]
    actor: User | None
    origin: Origin

    def change_of(self, ref: str) -> RefChange | None:
        return next((c for c in self.changes if c.ref == ref), None)


Subscriber = Callable[[RefsUpdated], None]
_subscribers: list[Subscriber] = []

# Audit action per origin; API and page changes that only create or delete refs are named as such.
_AUDIT_ACTIONS = {"git": "repo.push", "squash": "repo.super_squash", "merge": "repo.merge",
                  "pr": "repo.pull_request.commit", "web": "repo.commit", "api": "repo.commit"}


def subscribe(subscriber: Subscriber) -> None:
    """Register `subscriber` for every RefsUpdated (idempotent)."""
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)


def unsubscribe(subscriber: Subscriber) -> None:
    if subscriber in _subscribers:
        _subscribers.remove(subscriber)


def refs_updated(*, repo: Repository, changes: Iterable[RefChange | tuple[str, str | None, str | None]],
                 actor: Principal | None, origin: Origin, ip: str | None = None) -> RefsUpdated | None:
    """Announce that the refs in `changes` moved; call it inside the transaction that refreshed
    the index, after the refs moved. Changes that did not move anything are dropped; returns
    the event (None when nothing moved)."""
    if origin not in ORIGINS:
        raise ValueError(f"unknown origin {origin!r}")
    moved = tuple(c if isinstance(c, RefChange) else RefChange(*c) for c in changes)
    moved = tuple(RefChange(c.ref, _sha(c.old), _sha(c.new)) for c in moved)
    moved = tuple(c for c in moved if c.old != c.new)
    if not moved:
        return None
    event = RefsUpdated(repo=repo, changes=moved, actor=actor if is_signed_in(actor) else None, origin=origin)
    audit(action=_audit_action(event), actor=event.actor, target=str(repo), ip=ip, origin=origin,
          refs=[c.summary for c in moved][:100])
    transaction.on_commit(lambda: _dispatch(event))
    return event


def _sha(value: str | None) -> str | None:
    return None if value in (None, "", ZERO_SHA) else value


def _audit_action(event: RefsUpdated) -> str:
    if event.origin in ("api", "web"):
        if all(c.old is None for c in event.changes):
            return "repo.ref.create"
        if all(c.new is None for c in event.changes):
            return "repo.ref.delete"
    return _AUDIT_ACTIONS[event.origin]


def _dispatch(event: RefsUpdated) -> None:
    for subscriber in list(_subscribers):
        try:
            subscriber(event)
        except Exception:
            logger.exception("subscriber %r failed on %s of %s", subscriber, event.origin, event.repo)
