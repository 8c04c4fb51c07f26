"""Status badges on a pull request: what other apps know about its current head (e.g. the jobs
app's evaluation: running / pass / regress / failed), shown on the PR page whether or not a
merge rule requires it. Providers register in their `AppConfig.ready()`, as merge checks do
(`repos.reviews.checks`), so repos never imports them:

    from repos.reviews.badges import register_pr_badge
    register_pr_badge("evaluation", evaluation_badge)

A provider gets the PR and its head sha (None when the ref is gone) and returns a `PrBadge`,
or None when it has nothing to say about this head. Badges inform; they never gate a merge.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from repos.models import Discussion

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrBadge:
    key: str
    label: str  # "Evaluation"
    state: str  # a short word the provider picks: "running", "pass", "regress", "failed"
    detail: str = ""  # why, for a failure
    url: str = ""  # where to read more (a job page)


BadgeProvider = Callable[[Discussion, str | None], PrBadge | None]
_providers: dict[str, BadgeProvider] = {}


def register_pr_badge(key: str, provider: BadgeProvider) -> None:
    """Provide the badge `key` (idempotent; a later registration replaces the earlier)."""
    _providers[key] = provider


def pr_badges(pr: Discussion, head: str | None) -> list[PrBadge]:
    """Every badge a provider has for `pr` at `head`; a broken provider shows nothing."""
    badges = []
    for key, provider in _providers.items():
        try:
            badge = provider(pr, head)
        except Exception:  # a badge is informational: log, never break the PR page
            logger.exception("PR badge provider %s failed", key)
            continue
        if badge is not None:
            badges.append(badge)
    return badges
