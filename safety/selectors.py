"""Reads of the stored verdicts: per file, per revision, and in the Hub's API shapes."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from repos.git.repository import GitRepo
from repos.handles import git_repo
from repos.models import Repository
from safety.models import FileScan, RepoSafetySettings
from safety.scanning import RevisionFile, resolve_commit, revision_files, scanner_version

QUEUED_STATUS: dict[str, Any] = {"status": FileScan.Status.QUEUED.value, "avScan": None, "pickleImportScan": None}


def scans_for(*, repo: Repository, files: Sequence[tuple[str, str]]) -> dict[str, FileScan]:
    """{path: current verdict} for `files` = [(path, content id)]; files without one are absent.
    A verdict on the same content under another path counts (it judged the same bytes)."""
    oids = {oid for _, oid in files}
    by_oid: dict[str, FileScan] = {}
    by_key: dict[tuple[str, str], FileScan] = {}
    rows = FileScan.objects.filter(repository=repo, oid__in=oids, scanner_version=scanner_version()).exclude(
        status=FileScan.Status.QUEUED)
    for scan in rows:
        by_key[(scan.path, scan.oid)] = scan
        by_oid.setdefault(scan.oid, scan)
    out: dict[str, FileScan] = {}
    for path, oid in files:
        found = by_key.get((path, oid)) or by_oid.get(oid)
        if found is not None:
            out[path] = found
    return out


def security_file_statuses(*, repo: Repository, files: Sequence[tuple[str, str]]) -> dict[str, dict[str, Any]]:
    """{path: `securityFileStatus`}; a file not scanned yet is "queued"."""
    scans = scans_for(repo=repo, files=files)
    return {path: scans[path].as_security_file_status() if path in scans else dict(QUEUED_STATUS)
            for path, _ in files}


def security_repo_status(*, repo: Repository, files: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The Hub's `securityRepoStatus`: whether every file has a verdict, and the files whose
    verdict is not "safe" with that verdict as their level."""
    scans = scans_for(repo=repo, files=files)
    issues = [{"path": path, "level": scans[path].status} for path, _ in files
              if path in scans and not scans[path].is_safe]
    return {"scansDone": all(path in scans for path, _ in files), "filesWithIssues": issues}


def _files_of(git: GitRepo, sha: str) -> list[RevisionFile]:
    return list(revision_files(git=git, sha=sha))


def revision_scans(*, repo: Repository, revision: str) -> tuple[list[RevisionFile], dict[str, FileScan]]:
    """The files of `revision` and their verdicts ({} for an unknown revision)."""
    git = git_repo(repo)
    sha = resolve_commit(git, revision)
    if sha is None:
        return [], {}
    files = _files_of(git, sha)
    return files, scans_for(repo=repo, files=[(f.path, f.oid) for f in files])


def flagged_paths(repo: Repository, revision: str) -> set[str]:
    """Paths of `revision` whose verdict is anything but "safe" (unsafe, caution, unscanned,
    error): what jobs refuse to load. Files still queued are not in it (see `pending_paths`)."""
    _, scans = revision_scans(repo=repo, revision=revision)
    return {path for path, scan in scans.items() if not scan.is_safe}


def pending_paths(repo: Repository, revision: str) -> set[str]:
    """Paths of `revision` without a verdict yet."""
    files, scans = revision_scans(repo=repo, revision=revision)
    return {f.path for f in files if f.path not in scans}


def file_status(*, repo: Repository, path: str, oid: str) -> str:
    """The status of one file's content ("queued" when not scanned yet)."""
    scan = scans_for(repo=repo, files=[(path, oid)]).get(path)
    return scan.status if scan is not None else FileScan.Status.QUEUED.value


def blocks_unsafe_files(repo: Repository) -> bool:
    return RepoSafetySettings.objects.filter(repository=repo, block_unsafe_files=True).exists()


class SafetyReporter:
    """`repos.file_security.FileSecurityReporter` over the stored verdicts."""

    def file_statuses(self, repo: Repository, files: Sequence[tuple[str, str]]) -> dict[str, dict[str, Any]]:
        return security_file_statuses(repo=repo, files=files)

    def repo_status(self, repo: Repository, files: Sequence[tuple[str, str]]) -> dict[str, Any]:
        return security_repo_status(repo=repo, files=files)

    def flagged_paths(self, repo: Repository, revision: str) -> set[str]:
        return flagged_paths(repo, revision)

    def pending_paths(self, repo: Repository, revision: str) -> set[str]:
        return pending_paths(repo, revision)


@dataclass(frozen=True)
class ReportRow:
    path: str
    status: str
    imports: list[dict[str, str]]
    reasons: list[str]


@dataclass(frozen=True)
class SecretsRow:
    path: str
    findings: list[dict[str, Any]]


@dataclass(frozen=True)
class SecurityReport:
    """What the security page shows for one revision: the flagged files, how many are judged
    and pending, and (for writers only: `secrets` is None otherwise) the masked secrets found."""

    revision: str
    files: int
    scanned: int
    flagged: list[ReportRow] = field(default_factory=list)
    secrets: list[SecretsRow] | None = None

    @property
    def pending(self) -> int:
        return self.files - self.scanned


def security_report(*, repo: Repository, revision: str, with_secrets: bool) -> SecurityReport:
    """The report of `revision` (empty for an unknown one); `with_secrets` only for writers."""
    files, scans = revision_scans(repo=repo, revision=revision)
    flagged = [ReportRow(path=f.path, status=scans[f.path].status, imports=scans[f.path].imports,
                         reasons=scans[f.path].reasons[:5])
               for f in files if f.path in scans and not scans[f.path].is_safe]
    secrets = None
    if with_secrets:
        secrets = [SecretsRow(path=f.path, findings=scans[f.path].secrets[:50])
                   for f in files if f.path in scans and scans[f.path].secrets]
    return SecurityReport(revision=revision, files=len(files), scanned=len(scans), flagged=flagged, secrets=secrets)
