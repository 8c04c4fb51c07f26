"""Commit history of a revision (HF `list_repo_commits`)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Q

from accounts.models import User
from repos.git.repository import CommitInfo, GitRepo

COMMITS_PAGE_SIZE = 50
# `repos.services.repos.author_signature` gives users without an email this address.
NOREPLY_DOMAIN = "users.noreply.modelhub.local"
COMMITS_MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class CommitPage:
    commits: list[CommitInfo]
    next_offset: int | None
    # Hub username per author email, for authors that map to exactly one user.
    usernames: dict[str, str]


def commit_list(*, git: GitRepo, sha: str, offset: int = 0, limit: int = COMMITS_PAGE_SIZE) -> CommitPage:
    """Commits reachable from `sha`, newest first; one page and whether another follows."""
    commits = git.log(sha, limit=limit + 1, offset=offset)
    more = len(commits) > limit
    commits = commits[:limit]
    return CommitPage(commits=commits, next_offset=offset + limit if more else None,
                      usernames=commit_author_usernames(commits=commits))


def commit_author_usernames(*, commits: Sequence[CommitInfo]) -> dict[str, str]:
    """Author email (lowercased) -> hub username, in one query for a whole page.

    Commits made through the hub carry the user's email, or `<username>@<NOREPLY_DOMAIN>` for
    users without one. An email shared by several accounts maps to none of them: naming the
    wrong person as author is worse than showing the git author name.
    """
    emails = {c.author_email for c in commits if c.author_email}
    if not emails:
        return {}
    emails |= {e.lower() for e in emails}
    noreply = {e.rsplit("@", 1)[0]: e for e in emails if e.endswith("@" + NOREPLY_DOMAIN)}
    lowered = {e.lower() for e in emails}
    found: dict[str, set[str]] = {}
    rows = User.objects.filter(Q(email__in=emails) | Q(username__in=noreply)).values_list("username", "email")
    for username, email in rows:
        if email and email.lower() in lowered:
            found.setdefault(email.lower(), set()).add(username)
        if username in noreply:
            found.setdefault(noreply[username].lower(), set()).add(username)
    return {email: next(iter(names)) for email, names in found.items() if len(names) == 1}
