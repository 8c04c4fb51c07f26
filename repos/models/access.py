"""Access requests to gated repositories."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class AccessRequest(models.Model):
    """A user's request to download the files of a gated repository.

    One row per (repository, user): asking again updates it. `auto` gating accepts on
    creation; `manual` leaves it pending for the repo's admins. Access is granted to
    individual users, never to organizations (as on the Hub).
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        ACCEPTED = "accepted"
        REJECTED = "rejected"

    repository = models.ForeignKey("repos.Repository", on_delete=models.CASCADE, related_name="access_requests")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_requests")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    fields = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    rejection_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["repository", "user"], name="uniq_access_request")]
        indexes = [models.Index(fields=["repository", "status", "-created_at"])]
