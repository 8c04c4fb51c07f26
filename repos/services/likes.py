"""Likes and download counts: the two popularity numbers of a repository.

`Repository.likes` and `Repository.downloads` are counters on the row (listings sort by them
without a join); `RepoLike` rows say who liked what.
"""
from __future__ import annotations

import logging

from django.db import DatabaseError, transaction
from django.db.models import F

from accounts.models import User
from repos.models import RepoLike, Repository

logger = logging.getLogger(__name__)


def repo_like(*, repo: Repository, user: User) -> bool:
    """`user` likes `repo`; False when they already did. The caller has checked read access."""
    with transaction.atomic():
        _like, created = RepoLike.objects.get_or_create(repository=repo, user=user)
        if created:
            Repository.objects.filter(pk=repo.pk).update(likes=F("likes") + 1)
    return created


def repo_unlike(*, repo: Repository, user: User) -> bool:
    """`user` no longer likes `repo`; False when they did not."""
    with transaction.atomic():
        deleted, _ = RepoLike.objects.filter(repository=repo, user=user).delete()
        if deleted:
            Repository.objects.filter(pk=repo.pk, likes__gt=0).update(likes=F("likes") - 1)
    return bool(deleted)


def repo_count_download(*, repo: Repository) -> None:
    """One more download of `repo` (`repos.downloads.counts_as_download` decides what is one).

    On the file-serving path: a busy or failing database loses the count, never the download.
    """
    try:
        Repository.objects.filter(pk=repo.pk).update(downloads=F("downloads") + 1)
    except DatabaseError as exc:
        logger.warning("download of %s not counted: %s", repo.pk, exc)
