"""Who likes a repository, and what a user likes (only what the viewer may see)."""
from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import AccessToken, User
from accounts.permissions import Principal
from repos.gate import repos_visible_to
from repos.models import RepoLike, Repository


def repo_likers(*, repo: Repository) -> QuerySet[RepoLike]:
    """Likes of `repo`, newest first, with their users (the caller has checked read access)."""
    return RepoLike.objects.filter(repository=repo).select_related("user").order_by("-created_at", "-pk")


def user_likes_visible(*, user: User, viewer: Principal, token: AccessToken | None) -> QuerySet[RepoLike]:
    """`user`'s likes of repositories `viewer` can see, newest first."""
    visible = repos_visible_to(viewer, token=token).values("pk")
    return (RepoLike.objects.filter(user=user, repository__in=visible).select_related("repository")
            .order_by("-created_at", "-pk"))


def user_liked(*, repo: Repository, user: Principal) -> bool:
    return isinstance(user, User) and user.is_authenticated and \
        RepoLike.objects.filter(repository=repo, user=user).exists()
