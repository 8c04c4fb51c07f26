"""What the scanners found, per file of a repository, and the owners' safety settings."""
from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models

from repos.models import Repository


def path_digest_of(path: str) -> str:
    return hashlib.sha256(path.encode("utf-8", "surrogateescape")).hexdigest()


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
    # sha256 of `path`: the key's third part. Paths may be 4096 bytes, more than a PostgreSQL
    # btree index entry holds, so the unique constraint is on the digest (`path_digest_of`).
    path_digest = models.CharField(max_length=64, default="")
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
        constraints = [models.UniqueConstraint(fields=["repository", "oid", "path_digest"],
                                               name="safety_filescan_path_unique")]
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


def _new_pseudonym_secret() -> str:
    """The plain secrets of migrations 0002-0004 (sealed by 0005); kept for their history."""
    return secrets.token_hex(32)


class DatasetReport(models.Model):
    """The personal-data report of one dataset file (CSV/TSV, JSON Lines, Parquet).

    Keyed by (repository, content id, path): the content id is the LFS sha256 for LFS files
    and the git blob id otherwise, so a report names exactly the bytes it judged; the same
    bytes at another revision reuse it. `revision` is the commit the file was first seen at.
    `columns` holds `safety.scanners.personal_data.ColumnFindings.as_dict()` per column:
    counts per entity type and a few *masked* examples (never a value). `truncated`: a bound
    (rows, bytes, time) ended the scan early, so the counts cover only the start of the file.
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        CLEAN = "clean"  # scanned to the end, nothing found
        FINDINGS = "findings"
        ERROR = "error"

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="+")
    revision = models.CharField(max_length=40)
    path = models.CharField(max_length=4096)
    # sha256 of `path` (`path_digest_of`): the key's third part, for the same reason as FileScan's.
    path_digest = models.CharField(max_length=64, default="")
    oid = models.CharField(max_length=64)
    size = models.BigIntegerField(default=0)
    format = models.CharField(max_length=16)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    rows_scanned = models.BigIntegerField(default=0)
    totals = models.JSONField(default=dict)  # {entity: count} over every column
    columns = models.JSONField(default=list)
    truncated = models.BooleanField(default=False)
    stopped_by = models.CharField(max_length=300, blank=True, default="")
    problems = models.JSONField(default=list)
    error = models.CharField(max_length=500, blank=True, default="")
    scanner_version = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    scanned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "oid", "path_digest"], name="safety_datasetreport_key")]
        indexes = [models.Index(fields=["repository", "oid"], name="safety_datasetreport_oid")]

    def __str__(self) -> str:
        return f"{self.path}@{self.oid[:12]}: {self.status}"

    @property
    def has_findings(self) -> bool:
        return self.status == self.Status.FINDINGS


class DatasetPrivacy(models.Model):
    """An owner's personal-data choices for one repository.

    `require_clean_report`: the repository cannot be made public while the latest report of a
    dataset file on its default branch has findings or is not finished (`repos.policy.visibility`).
    `pseudonym_secret_wrapped`: the HMAC key of consistent pseudonyms (`safety.redaction`); one
    per repository, so pseudonyms of two repositories cannot be linked. Stored only wrapped by
    the master key (`repos.objects.encryption.wrap_secret`, bound to `<storage key>:pseudonym`;
    re-wrapped by the master-key rotation), made on first use (`dataset_reports.pseudonym_secret`),
    "" until then. Never shown or logged.
    """

    repository = models.OneToOneField(Repository, on_delete=models.CASCADE, primary_key=True, related_name="+")
    require_clean_report = models.BooleanField(default=False)
    pseudonym_secret_wrapped = models.CharField(max_length=200, blank=True, default="", editable=False)

    def __str__(self) -> str:
        return f"personal-data settings of {self.repository_id}"


class DatasetRedaction(models.Model):
    """One redaction job: de-identify the files with findings at `revision` and open the result
    as a pull request. States: queued -> running -> succeeded | failed; `error` says why a
    job failed, `result` holds per-file replacement counts (`RedactionResult.as_dict`)."""

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    class Mode(models.TextChoices):
        MASK = "mask"
        PSEUDONYM = "pseudonym"

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    revision = models.CharField(max_length=40)
    branch = models.CharField(max_length=255)
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.MASK)
    paths = models.JSONField(default=list)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    result = models.JSONField(default=dict)
    error = models.CharField(max_length=1000, blank=True, default="")
    pull_request_num = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When a worker took it (`safety.dataset_redaction.redactions_reap` fails a run whose
    # worker died: no live worker holds one past the task's time limit).
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"redaction {self.pk} of {self.repository_id}@{self.revision[:12]}: {self.state}"
