"""Personal-data reports of the dataset files of a repository (the Django side of
`safety.scanners.personal_data`).

A push to a dataset repository (any path: API commit, git push, browser upload, merge) is
announced by the event door; `reports_on_refs_updated` enqueues `safety.report_dataset_revision`
for each new head, and the worker scans the CSV/TSV, JSON Lines and Parquet files of that
commit that have no report yet. Bytes come through the byte door (LFS objects) or the git layer
(plain blobs, at most 10 MiB by the upload policy) and are streamed to the scanner, which is
bounded in rows, bytes and time (settings `HUB_PII_MAX_*`): a bound reached gives a report
marked `truncated`, never an endless task.

Reports are keyed by content (LFS sha256 or git blob id) and path, so a file is scanned once
whatever the number of branches and pull requests that hold it.
"""
from __future__ import annotations

import io
import logging
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from accounts.services.audit import audit
from repos import objects
from repos.events import RefsUpdated
from repos.git.errors import GitError, TreeTooLarge
from repos.git.repository import GitRepo
from repos.handles import git_repo, walk_limits
from repos.models import Repository, RepoType
from repos.objects.encryption import WrappedSecrets, unwrap_secret, wrap_secret
from repos.selectors.files import repo_entry
from safety.entities import EntityDetector
from safety.models import DatasetPrivacy, DatasetReport, path_digest_of
from safety.scanners.personal_data import PersonalDataLimits, PersonalDataReport, scan_dataset
from safety.tabular.formats import DatasetFormat, dataset_format

logger = logging.getLogger(__name__)

# Bumped when the detector or the scanner changes: older reports are then made again.
SCANNER_VERSION = "personal-data-1"
# A revision with more dataset files than this is reported up to it.
MAX_DATASET_FILES = 10_000
_QUERY_CHUNK = 500

Opener = Callable[[], BinaryIO]


@dataclass(frozen=True)
class DatasetFile:
    """A dataset file of a revision: its content id (LFS sha256 or git blob id)."""

    path: str
    oid: str
    size: int
    format: DatasetFormat
    is_lfs: bool
    blob_oid: str


def is_dataset_repo(repo: Repository) -> bool:
    return repo.repo_type == RepoType.DATASET


def dataset_files(*, git: GitRepo, sha: str, limit: int = MAX_DATASET_FILES) -> Iterator[DatasetFile]:
    """The files of commit `sha` whose name says CSV/TSV, JSON Lines or Parquet, LFS pointers
    resolved; bounded by the walk limits and `limit`."""
    found = 0
    try:
        for tree_entry in git.iter_files(sha, limits=walk_limits()):
            fmt = dataset_format(tree_entry.path)
            if fmt is None:
                continue
            if found >= limit:
                logger.warning("personal-data reports of %s stopped after %d files", sha, limit)
                return
            found += 1
            entry = repo_entry(git, tree_entry)
            yield DatasetFile(path=entry.path, oid=entry.etag, size=entry.size, format=fmt,
                              is_lfs=entry.lfs is not None, blob_oid=entry.oid)
    except TreeTooLarge as exc:
        logger.warning("personal-data reports of %s stopped at the walk limits: %s", sha, exc)


def opener_for(*, repo: Repository, git: GitRepo, file: DatasetFile) -> Opener:
    """How to read `file`'s content: LFS objects through the byte door (seekable, streamed),
    plain blobs from git (small by the upload policy)."""
    if file.is_lfs:
        return lambda: objects.open_object(repo=repo, oid=file.oid)
    return lambda: io.BytesIO(git.read_blob(file.blob_oid))


_detector: EntityDetector | None = None
_detector_lock = threading.Lock()


def detector() -> EntityDetector:
    """One detector per process: building it imports Presidio (seconds), using it is cheap
    and thread-safe."""
    global _detector
    with _detector_lock:
        if _detector is None:
            _detector = EntityDetector()
        return _detector


def scan_limits() -> PersonalDataLimits:
    return PersonalDataLimits(max_rows=int(settings.HUB_PII_MAX_ROWS), max_bytes=int(settings.HUB_PII_MAX_BYTES),
                              max_seconds=float(settings.HUB_PII_MAX_SECONDS))


def _fields(report: PersonalDataReport) -> dict[str, Any]:
    error = report.stopped_by[len("error: "):] if report.stopped_by and report.stopped_by.startswith("error") else ""
    if report.found:
        status = DatasetReport.Status.FINDINGS
    elif error:
        status = DatasetReport.Status.ERROR
    else:
        status = DatasetReport.Status.CLEAN
    return {
        "status": status, "rows_scanned": report.rows_scanned, "totals": report.totals,
        "columns": [c.as_dict() for c in report.columns], "truncated": not report.complete,
        "stopped_by": (report.stopped_by or "")[:300], "problems": list(report.problems), "error": error[:500],
        "scanner_version": SCANNER_VERSION, "scanned_at": timezone.now(),
    }


def file_report(*, repo: Repository, sha: str, file: DatasetFile, open_content: Opener) -> DatasetReport:
    """The current report on `file`: an existing one for the same content and path is reused,
    otherwise the content is scanned now. Never raises for the content: a failure to read it
    is the status "error"."""
    done = DatasetReport.objects.filter(repository=repo, oid=file.oid, path_digest=path_digest_of(file.path),
                                        scanner_version=SCANNER_VERSION).exclude(status=DatasetReport.Status.QUEUED)
    existing = done.first()
    if existing is not None:
        return existing
    try:
        with open_content() as f:
            fields = _fields(scan_dataset(f, format=file.format, detector=detector(), limits=scan_limits()))
    except Exception as exc:  # noqa: BLE001 - the object vanished, the disk failed: a status too
        logger.exception("personal-data scan of %s:%s (%s) failed", repo.repo_id, file.path, file.oid)
        fields = {"status": DatasetReport.Status.ERROR, "error": f"scan failed: {type(exc).__name__}",
                  "scanner_version": SCANNER_VERSION, "scanned_at": timezone.now()}
    return _store(repo=repo, sha=sha, file=file, fields=fields)


def _store(*, repo: Repository, sha: str, file: DatasetFile, fields: dict[str, Any]) -> DatasetReport:
    defaults = {"revision": sha, "size": file.size, "format": file.format, **fields}
    try:
        with transaction.atomic():
            report, _ = DatasetReport.objects.update_or_create(repository=repo, oid=file.oid,
                                                               path_digest=path_digest_of(file.path),
                                                               defaults={"path": file.path, **defaults})
    except IntegrityError:  # a concurrent scan of the same file stored it first
        report = DatasetReport.objects.get(repository=repo, oid=file.oid, path_digest=path_digest_of(file.path))
    return report


def revision_report(*, repo: Repository, sha: str) -> dict[str, int]:
    """Report every dataset file of commit `sha` of `repo` that has no current report; returns
    counts by status. Runs in the worker (`safety.report_dataset_revision`)."""
    git = git_repo(repo)
    counts: dict[str, int] = {}
    for file in dataset_files(git=git, sha=sha):
        report = file_report(repo=repo, sha=sha, file=file, open_content=opener_for(repo=repo, git=git, file=file))
        counts[report.status] = counts.get(report.status, 0) + 1
    return counts


def enqueue_revision_report(repo: Repository, sha: str) -> None:
    """Schedule the reports of `repo` at `sha` once the current transaction commits (robust: a
    broker that is down must not undo a commit that already happened)."""
    from safety.tasks import report_dataset_revision  # the task module imports this one

    repo_pk = repo.pk
    transaction.on_commit(lambda: report_dataset_revision.delay(repo_pk, sha), robust=True)


def _enqueue_now(repo: Repository, sha: str) -> None:
    """Schedule the reports at once: the caller's transaction is about to roll back (a refusal),
    and the commit to report is in git already."""
    from safety.tasks import report_dataset_revision

    try:
        report_dataset_revision.delay(repo.pk, sha)
    except Exception:  # noqa: BLE001 - a broker that is down must not turn a refusal into a 500
        logger.exception("could not schedule the personal-data reports of %s at %s", repo.repo_id, sha)


def reports_on_refs_updated(event: RefsUpdated) -> None:
    """The event door's subscriber: each new head of a dataset repository (branches, tags,
    pull request refs), whatever path moved it, gets its files reported."""
    if not is_dataset_repo(event.repo):
        return
    for sha in dict.fromkeys(c.new for c in event.changes if c.new is not None):
        enqueue_revision_report(event.repo, sha)


# ---------------------------------------------------------------------- reading


@dataclass(frozen=True)
class FileReportRow:
    """A dataset file of a revision with its report (None: not scanned yet)."""

    file: DatasetFile
    report: DatasetReport | None

    @property
    def status(self) -> str:
        return self.report.status if self.report is not None else DatasetReport.Status.QUEUED

    @property
    def clean(self) -> bool:
        """Scanned to the end and nothing found: the only state that lets a dataset go public
        under `require_clean_report`."""
        return self.report is not None and self.report.status == DatasetReport.Status.CLEAN \
            and not self.report.truncated


def revision_reports(*, repo: Repository, git: GitRepo, sha: str) -> list[FileReportRow]:
    """Every dataset file of `sha` with its current report, in path order (one query)."""
    files = list(dataset_files(git=git, sha=sha))
    found: dict[tuple[str, str], DatasetReport] = {}
    for start in range(0, len(files), _QUERY_CHUNK):  # bounded IN lists (SQLite's variable limit)
        chunk = files[start:start + _QUERY_CHUNK]
        found.update({(r.oid, r.path): r for r in DatasetReport.objects.filter(
            repository=repo, scanner_version=SCANNER_VERSION, oid__in={f.oid for f in chunk})
            .exclude(status=DatasetReport.Status.QUEUED)})
    return [FileReportRow(file=f, report=found.get((f.oid, f.path))) for f in sorted(files, key=lambda f: f.path)]


def privacy_settings(repo: Repository) -> DatasetPrivacy:
    privacy, _ = DatasetPrivacy.objects.get_or_create(repository=repo)
    return privacy


def _pseudonym_binding(storage_key_hex: str) -> str:
    # What the wrapped secret is bound to: this repository, and a name no data key uses.
    return f"{storage_key_hex}:pseudonym"


def pseudonym_secret(repo: Repository) -> bytes:
    """`repo`'s pseudonym key (32 bytes), made and stored wrapped on first use. Raises
    EncryptionKeyUnavailable (503) when the master key is missing or is not the one that
    wrapped it: never another key, which would give other pseudonyms."""
    privacy = privacy_settings(repo)
    binding = _pseudonym_binding(repo.storage_key.hex)
    if not privacy.pseudonym_secret_wrapped:
        fresh = wrap_secret(secrets.token_bytes(32), binding=binding)
        # Compare-and-swap: of two first uses at once, one secret is kept and both use it.
        DatasetPrivacy.objects.filter(pk=privacy.pk, pseudonym_secret_wrapped="").update(
            pseudonym_secret_wrapped=fresh)
        privacy.refresh_from_db(fields=["pseudonym_secret_wrapped"])
    return unwrap_secret(privacy.pseudonym_secret_wrapped, binding=binding, what="this dataset's pseudonym key")


def _wrapped_pseudonym_secrets() -> Iterator[tuple[int, str, str]]:
    rows = DatasetPrivacy.objects.exclude(pseudonym_secret_wrapped="").values_list(
        "pk", "pseudonym_secret_wrapped", "repository__storage_key")
    for pk, text, storage_key in rows.iterator():
        yield pk, text, _pseudonym_binding(storage_key.hex)


def _swap_pseudonym_secret(pk: int, old: str, new: str) -> int:
    return DatasetPrivacy.objects.filter(pk=pk, pseudonym_secret_wrapped=old).update(pseudonym_secret_wrapped=new)


# Registered in SafetyConfig.ready: the master-key rotation re-wraps these with the data keys.
PSEUDONYM_SECRETS = WrappedSecrets(name="safety.pseudonym_secret", rows=_wrapped_pseudonym_secrets,
                                   swap=_swap_pseudonym_secret)


def require_clean_report(repo: Repository) -> bool:
    return DatasetPrivacy.objects.filter(repository=repo, require_clean_report=True).exists()


def privacy_settings_update(*, repo: Repository, require_clean: bool, actor: User | None = None,
                            ip: str | None = None) -> DatasetPrivacy:
    """Turn the "clean report before going public" rule on or off (audited). The caller has
    checked the "settings" action."""
    with transaction.atomic():
        privacy = privacy_settings(repo)
        if privacy.require_clean_report != require_clean:
            privacy.require_clean_report = require_clean
            privacy.save(update_fields=["require_clean_report"])
            audit(action="repo.personal_data.require_clean", actor=actor, target=str(repo), ip=ip,
                  require_clean_report=require_clean)
    return privacy


def publish_guard(repo: Repository) -> str | None:
    """`repos.policy.visibility` guard: with `require_clean_report`, a dataset stays private
    while a dataset file of its default branch has findings, a failed or truncated scan, or
    no report yet (then one is scheduled)."""
    if not is_dataset_repo(repo) or not require_clean_report(repo):
        return None
    git = git_repo(repo)
    try:
        sha = git.resolve(f"refs/heads/{repo.default_branch}")
    except GitError:
        return None  # an empty repository holds no data
    rows = revision_reports(repo=repo, git=git, sha=sha)
    dirty = [row for row in rows if row.report is not None and row.report.has_findings]
    if dirty:
        names = ", ".join(row.file.path for row in dirty[:5]) + (" ..." if len(dirty) > 5 else "")
        return (f"The personal-data report of {repo.default_branch} has findings in {len(dirty)} file(s) ({names}); "
                "the owner requires a clean report before the dataset goes public. Redact them (a redaction "
                "pull request) and merge it first.")
    pending = [row for row in rows if row.report is None]
    if pending:
        _enqueue_now(repo, sha)
        return (f"The personal-data report of {repo.default_branch} is not finished ({len(pending)} file(s) still "
                "to scan); the owner requires a clean report before the dataset goes public. Try again shortly.")
    unclean = [row for row in rows if not row.clean]
    if unclean:
        row = unclean[0]
        assert row.report is not None
        why = f"scan failed: {row.report.error}" if row.report.status == DatasetReport.Status.ERROR else \
            f"scan stopped at {row.report.stopped_by}"
        return (f"The personal-data report of {row.file.path} is incomplete ({why}); the owner requires a clean "
                "report before the dataset goes public.")
    return None
