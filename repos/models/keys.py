"""Per-repository data keys of the encryption at rest of LFS objects (`repos.objects.encryption`)."""
from __future__ import annotations

from django.db import models
from django.utils import timezone


class RepoKey(models.Model):
    """A data key of one repository, stored only wrapped by the master key
    (`repos.objects.crypto.keys.WrappedKey.to_text()`, bound to the repository's storage key and
    to `key_id`). Every encrypted object names its key id in its header, so old keys stay here
    while an object still uses them; `active` marks the one new objects are encrypted with."""

    repository = models.ForeignKey("repos.Repository", on_delete=models.CASCADE, related_name="data_keys")
    key_id = models.CharField(max_length=64)
    wrapped = models.CharField(max_length=300)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "key_id"], name="uniq_repo_data_key"),
            models.UniqueConstraint(fields=["repository"], condition=models.Q(active=True),
                                    name="one_active_data_key_per_repo"),
        ]

    def __str__(self) -> str:
        return f"RepoKey({self.repository_id}, {self.key_id})"
