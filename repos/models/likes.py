from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class RepoLike(models.Model):
    """A user's like of a repository. `Repository.likes` is the count, kept in step by
    `repos.services.likes` so listings sort and show it without a join."""

    repository = models.ForeignKey("repos.Repository", on_delete=models.CASCADE, related_name="like_rows")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="repo_likes")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["repository", "user"], name="uniq_repo_like")]
        indexes = [models.Index(fields=["user", "-created_at"])]
