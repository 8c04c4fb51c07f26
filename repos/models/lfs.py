"""LFS objects: content-addressed blobs and which repositories may reference them."""
from __future__ import annotations

from django.db import models
from django.utils import timezone


class LfsObject(models.Model):
    """A verified object in the LFS store (its sha256 and size were checked on upload)."""

    oid = models.CharField(max_length=64, primary_key=True)
    size = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)


class RepoLfsObject(models.Model):
    """An object uploaded to (or pushed into) a given repository.

    Objects are stored once, but a repository may only serve and reference objects that
    were uploaded to it: knowing a sha256 from another (private) repo gives no access.
    """

    repository = models.ForeignKey("repos.Repository", on_delete=models.CASCADE, related_name="lfs_objects")
    lfs_object = models.ForeignKey(LfsObject, on_delete=models.CASCADE, related_name="repositories")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "lfs_object"], name="uniq_repo_lfs_object"),
        ]
