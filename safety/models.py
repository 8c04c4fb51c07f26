"""What the scanners found, per file of a repository, and the owners' safety settings."""
from __future__ import annotations

from django.db import models

from repos.models import Repository


class FileScan(models.Model):
    """The verdict on one file's content in one repository.

    Keyed by (repository, content id, path): the content id is the LFS sha256 for LFS files and
    the git blob id otherwise, so a verdict names exactly the bytes it judged (no gap between
    scan and publish: new bytes are a new id). The same content under another path reuses the
    verdict (copied, the scan is not run again). `status` follows the Hub's
    `securityFileStatus.status`, plus "queued" for a file whose scan has not finished; only
    "safe" is safe (SECURITY.md T47). Secrets findings are masked and shown to writers only.
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        SAFE = "safe"
        CAUTION = "caution"
        UNSAFE = "unsafe"
        UNSCANNED = "unscanned"
        ERROR = "error"

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="+")
    oid = models.CharField(max_length=64)
    path = models.CharField(max_length=4096)
    size = models.BigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    pickle_found = models.BooleanField(default=False)
    highest_safety_level = models.CharField(max_length=16, blank=True, default="")
    imports = models.JSONField(default=list)  # [{"module", "name", "safety"}] in the Hub's shape
    reasons = models.JSONField(default=list)
    av_scan = models.JSONField(null=True, blank=True)  # {"virusFound", "virusNames"} or None (no AV ran)
    secrets = models.JSONField(default=list)  # masked findings (`SecretFinding.as_dict`)
    scanner_version = models.CharField(max_length=64, blank=True, default="")
    scanned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["repository", "oid", "path"], name="safety_filescan_unique")]
        indexes = [models.Index(fields=["repository", "oid"], name="safety_filescan_oid")]

    def __str__(self) -> str:
        return f"{self.path}@{self.oid[:12]}: {self.status}"

    @property
    def is_safe(self) -> bool:
        return self.status == self.Status.SAFE

    def as_security_file_status(self) -> dict:
        """The Hub's `securityFileStatus` (what `huggingface_hub` parses into `RepoFile.security`)."""
        return {
            "status": self.status,
            "avScan": self.av_scan,
            "pickleImportScan": {"highestSafetyLevel": self.highest_safety_level, "imports": self.imports}
            if self.pickle_found else None,
        }


class RepoSafetySettings(models.Model):
    """An owner's choices for one repository. `block_unsafe_files`: a commit or push that
    adds a file the pickle scanner does not judge safe is refused (scanned synchronously)."""

    repository = models.OneToOneField(Repository, on_delete=models.CASCADE, primary_key=True, related_name="+")
    block_unsafe_files = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"safety settings of {self.repository_id}"
