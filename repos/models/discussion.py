"""Discussions and pull requests (minimal: what `create_commit(create_pr=True)` needs).

A pull request is a discussion with `is_pull_request` whose git ref is `refs/pr/{num}`;
discussions and PRs share one per-repository counter (HF_PROTOCOL.md §7).
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Discussion(models.Model):
    """A discussion thread or pull request of one repository, numbered per repository."""

    class Status(models.TextChoices):
        OPEN = "open"
        CLOSED = "closed"
        MERGED = "merged"
        DRAFT = "draft"

    repository = models.ForeignKey("repos.Repository", on_delete=models.CASCADE, related_name="discussions")
    num = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="discussions")
    is_pull_request = models.BooleanField(default=False)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    # Short branch name the PR targets (e.g. "main"); empty for plain discussions.
    target_branch = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "num"], name="uniq_discussion_num"),
        ]
        ordering = ["-num"]

    def __str__(self) -> str:
        return f"{self.repository_id}#{self.num}"

    @property
    def git_ref(self) -> str:
        """`refs/pr/{num}` for pull requests."""
        return f"refs/pr/{self.num}"

    @property
    def is_writable(self) -> bool:
        """Whether commits may still land on the PR ref (draft or open)."""
        return self.status in (self.Status.OPEN, self.Status.DRAFT)
