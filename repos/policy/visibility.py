"""Rules on making a repository public, registered by the apps that know why not to.

`safety` (which depends on `repos`, never the reverse) registers a guard in its
`AppConfig.ready`: a dataset whose owner requires a clean personal-data report cannot be made
public while the report has findings. `repo_update_settings` asks `publish_refusal` on every
private -> public change, so the API and the settings page refuse alike.
"""
from __future__ import annotations

from collections.abc import Callable

from hub.exceptions import Conflict
from repos.models import Repository

# A guard returns the reason the repository must stay private, or None.
PublishGuard = Callable[[Repository], str | None]
_guards: list[PublishGuard] = []


class PublishRefused(Conflict):
    """409: the repository's state (e.g. its personal-data report) forbids going public."""

    code = "PublishRefused"
    default_message = "This repository cannot be made public"


def register_publish_guard(guard: PublishGuard) -> None:
    """Register `guard` (idempotent)."""
    if guard not in _guards:
        _guards.append(guard)


def unregister_publish_guard(guard: PublishGuard) -> None:
    if guard in _guards:
        _guards.remove(guard)


def publish_refusal(repo: Repository) -> str | None:
    """The first reason a guard gives to keep `repo` private, or None."""
    for guard in list(_guards):
        if reason := guard(repo):
            return reason
    return None
