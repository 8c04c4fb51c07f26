"""Repositories: the database index of what the bare git repos hold."""
from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils import timezone


class RepoType(models.TextChoices):
    MODEL = "model"
    DATASET = "dataset"
    SPACE = "space"


# URL prefixes per type: web/git/resolve URLs and the plural used in /api/<plural>/...
URL_PREFIX = {RepoType.MODEL: "", RepoType.DATASET: "datasets/", RepoType.SPACE: "spaces/"}
API_PLURAL = {RepoType.MODEL: "models", RepoType.DATASET: "datasets", RepoType.SPACE: "spaces"}
PLURAL_TO_TYPE = {v: k for k, v in API_PLURAL.items()}
PREFIX_TO_TYPE = {None: RepoType.MODEL, "": RepoType.MODEL, "datasets": RepoType.DATASET, "spaces": RepoType.SPACE}


def repo_type_for_plural(plural: str) -> str | None:
    """The repository type of an API plural (`models` -> `model`), None if unknown."""
    return PLURAL_TO_TYPE.get(plural)


def repo_type_for_prefix(prefix: str | None) -> str | None:
    """The repository type of a web/git/resolve URL prefix (None or "" -> model)."""
    return PREFIX_TO_TYPE.get(prefix)


class Repository(models.Model):
    """A model, dataset or space repository.

    Git is the source of truth for content; the columns below (head, card data, sizes) are
    an index refreshed after every write. The bare repo lives at a path derived from
    `storage_key`, not from the name, so renames and transfers never move files.
    """

    class Gated(models.TextChoices):
        NONE = ""
        AUTO = "auto"
        MANUAL = "manual"

    storage_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    repo_type = models.CharField(max_length=16, choices=RepoType.choices, default=RepoType.MODEL)
    namespace = models.CharField(max_length=96)
    name = models.CharField(max_length=96)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="repositories")
    organization = models.ForeignKey("accounts.Organization", null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="repositories")
    private = models.BooleanField(default=False)
    # LFS objects of private repositories are always encrypted at rest; this opts a public one
    # in too (`repos.objects.encryption.repo_encrypted`).
    encrypt_objects = models.BooleanField(default=False)
    gated = models.CharField(max_length=8, choices=Gated.choices, default=Gated.NONE, blank=True)
    disabled = models.BooleanField(default=False)
    default_branch = models.CharField(max_length=255, default="main")
    created_at = models.DateTimeField(default=timezone.now)
    last_modified = models.DateTimeField(default=timezone.now, db_index=True)
    # Index of the default branch head.
    head_sha = models.CharField(max_length=40, blank=True)
    card_data = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=list, blank=True)
    pipeline_tag = models.CharField(max_length=64, blank=True)
    library_name = models.CharField(max_length=64, blank=True)
    used_storage = models.BigIntegerField(default=0)
    safetensors = models.JSONField(null=True, blank=True)
    downloads = models.PositiveIntegerField(default=0)
    likes = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repo_type", "namespace", "name"], name="uniq_repo_id"),
        ]
        indexes = [models.Index(fields=["repo_type", "private", "-last_modified"])]
        permissions = [
            ("read_repo", "Can read the repository"),
            ("write_repo", "Can write to the repository"),
            ("admin_repo", "Can administer the repository"),
        ]

    def __str__(self) -> str:
        return f"{self.repo_type}:{self.repo_id}"

    @property
    def repo_id(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def url_path(self) -> str:
        """`[datasets/|spaces/]ns/name` as used in web, git and resolve URLs."""
        return f"{URL_PREFIX[RepoType(self.repo_type)]}{self.repo_id}"

    @property
    def api_plural(self) -> str:
        return API_PLURAL[RepoType(self.repo_type)]

    @property
    def git_dir(self) -> Path:
        from repos.git.paths import storage_path

        return storage_path(Path(settings.REPOS_ROOT), self.storage_key.hex)


class RepoRedirect(models.Model):
    """An old name of a moved repository; old URLs redirect to the current one."""

    repo_type = models.CharField(max_length=16, choices=RepoType.choices)
    namespace = models.CharField(max_length=96)
    name = models.CharField(max_length=96)
    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="redirects")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repo_type", "namespace", "name"], name="uniq_repo_redirect"),
        ]
