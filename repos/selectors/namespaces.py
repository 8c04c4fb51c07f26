"""What a user's or organization's overview and repository settings list (visible repos only)."""
from __future__ import annotations

from django.db.models import Count, QuerySet

from accounts.models import AccessToken, Organization, User
from accounts.permissions import Principal
from repos.gate import repos_visible_to
from repos.models import RepoLike, Repository


def namespace_repos(*, namespace: str, viewer: Principal, token: AccessToken | None) -> QuerySet[Repository]:
    """The repositories of `namespace` that `viewer` can see, most recently changed first."""
    return repos_visible_to(viewer, Repository.objects.filter(namespace=namespace), token=token) \
        .order_by("-last_modified", "-pk")


def namespace_repo_counts(*, namespace: str, viewer: Principal, token: AccessToken | None) -> dict[str, int]:
    """{"model": n, "dataset": n, "space": n} of `namespace_repos`."""
    counts = {"model": 0, "dataset": 0, "space": 0}
    rows = namespace_repos(namespace=namespace, viewer=viewer, token=token).order_by() \
        .values("repo_type").annotate(n=Count("pk"))
    for row in rows:
        counts[row["repo_type"]] = row["n"]
    return counts


def user_like_count(*, user: User) -> int:
    return RepoLike.objects.filter(user=user).count()


def organization_member_count(*, org: Organization) -> int:
    return org.memberships.count()
