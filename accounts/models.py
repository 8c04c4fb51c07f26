"""People, organizations, access tokens and the audit log."""
from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone


class User(AbstractUser):
    """A person. `username` is the namespace of their repositories (shared with orgs)."""

    fullname = models.CharField(max_length=150, blank=True)

    def __str__(self) -> str:
        return self.username


class Organization(models.Model):
    """A namespace owned by several people with roles."""

    name = models.CharField(max_length=96, unique=True)
    fullname = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's role in an organization."""

    class Role(models.TextChoices):
        READ = "read"
        CONTRIBUTOR = "contributor"
        WRITE = "write"
        ADMIN = "admin"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.READ)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "user"], name="uniq_membership")]


class AccessToken(models.Model):
    """An API/git token. Only its SHA-256 is stored: the secret is shown once at creation.

    Tokens are 256-bit random strings, so a fast unsalted hash is enough to make a stolen
    table useless while keeping lookup a single indexed query.
    """

    class Role(models.TextChoices):
        READ = "read"
        WRITE = "write"
        FINE_GRAINED = "fineGrained"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=100)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.READ)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "revoked_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @property
    def is_active(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()

    @property
    def can_write(self) -> bool:
        return self.role in (self.Role.WRITE, self.Role.FINE_GRAINED)


class AuditEvent(models.Model):
    """One security-relevant action: who did what to which target, when, from where."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=64)
    target = models.CharField(max_length=255, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]


class TokenScope(models.Model):
    """One grant of a fine-grained token (HF's `fineGrained.scoped` entries).

    Exactly one target: a repository, every repository of an organization, or - both empty -
    the token owner's personal namespace. `access` is what the token may do there; it never
    exceeds what its user may do. A fine-grained token outside all of its scopes acts like
    anonymous (public repos readable, nothing writable).

    `write` is the Hub's "write access to contents/settings": commits, branches, tags, pull
    requests, visibility and gating. Deleting, renaming or transferring a repository,
    collaborators and organization members, rewriting the default branch's history and audit
    exports need `admin` (`accounts.permissions.SCOPE_LEVEL`).
    """

    class Access(models.TextChoices):
        READ = "read"
        WRITE = "write"
        ADMIN = "admin"

    token = models.ForeignKey(AccessToken, on_delete=models.CASCADE, related_name="scopes")
    # A string reference: accounts must not import repos (dependencies point repos -> accounts).
    repository = models.ForeignKey("repos.Repository", null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="+")
    organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="+")
    access = models.CharField(max_length=8, choices=Access.choices, default=Access.READ)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(repository__isnull=True) | models.Q(organization__isnull=True),
                                   name="token_scope_one_target"),
        ]
