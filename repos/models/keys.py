"""Data keys of the encryption at rest (`repos.objects.encryption`): per repository for LFS
objects, per shared store for Xet xorbs."""
from __future__ import annotations

from django.db import models
from django.utils import timezone


class WrappedDataKey(models.Model):
    """What every stored data key holds: its id (named in the headers of the objects it
    encrypts), the key wrapped by the master key, and whether new objects use it."""

    key_id = models.CharField(max_length=64)
    wrapped = models.CharField(max_length=300)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


class RepoKey(WrappedDataKey):
    """A data key of one repository, stored only wrapped by the master key
    (`repos.objects.crypto.keys.WrappedKey.to_text()`, bound to the repository's storage key and
    to `key_id`). Every encrypted object names its key id in its header, so old keys stay here
    while an object still uses them; `active` marks the one new objects are encrypted with."""

    repository = models.ForeignKey("repos.Repository", on_delete=models.CASCADE, related_name="data_keys")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "key_id"], name="uniq_repo_data_key"),
            models.UniqueConstraint(fields=["repository"], condition=models.Q(active=True),
                                    name="one_active_data_key_per_repo"),
        ]

    def __str__(self) -> str:
        return f"RepoKey({self.repository_id}, {self.key_id})"


class StoreKey(WrappedDataKey):
    """A data key of a store shared by every repository, stored only wrapped by the master key
    (bound to `store:<name>` and to `key_id`). Xet xorbs need one: they are content-addressed
    and deduplicated across repositories (who may use one is the provenance index's rule,
    `repos.services.xet`), so no single repository's key may own them - deleting that
    repository would make every other repository's copy unreadable. Old keys stay while a
    stored object names them; `active` marks the one new objects are encrypted with."""

    name = models.CharField(max_length=32)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["name", "key_id"], name="uniq_store_data_key"),
            models.UniqueConstraint(fields=["name"], condition=models.Q(active=True),
                                    name="one_active_data_key_per_store"),
        ]

    def __str__(self) -> str:
        return f"StoreKey({self.name}, {self.key_id})"
