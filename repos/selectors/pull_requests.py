"""Reads of pull requests needed by the push policy and the write API (which PR a `refs/pr/N`
revision names); the rest of the discussion reads live in `repos.reviews.selectors`."""
from __future__ import annotations

import re

from repos.models import Discussion, Repository

PR_REF_RE = re.compile(r"refs/pr/([1-9][0-9]{0,8})")


def pull_request_by_ref(*, repo: Repository, ref: str) -> Discussion | None:
    """The pull request whose git ref is `ref` (`refs/pr/N`), or None."""
    match = PR_REF_RE.fullmatch(ref)
    if match is None:
        return None
    return (Discussion.objects.select_related("author")
            .filter(repository=repo, num=int(match.group(1)), is_pull_request=True).first())

