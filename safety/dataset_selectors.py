"""Personal-data reports as the API and the dataset page show them.

Who sees what (README "Personal data in datasets"): anyone who can read the repository sees,
per file and column, the counts by entity type and the status; masked examples
(`j***@e***.com`, `****-****-****-1111`) are shown only to its writers, because even a masked
shape tells something about a person and readers of a gated or public dataset did not upload
it. Nobody ever sees a value: the database holds only masked examples.
"""
from __future__ import annotations

from typing import Any

from hub.exceptions import RevisionNotFound
from repos.git.errors import GitError
from repos.handles import git_repo_for_read
from repos.models import Repository
from safety.dataset_reports import FileReportRow, is_dataset_repo, require_clean_report, revision_reports
from safety.entities import ENTITIES, UNSUPPORTED
from safety.models import DatasetRedaction


def _column(column: dict[str, Any], *, examples: bool) -> dict[str, Any]:
    out = {k: v for k, v in column.items() if k != "examples"}
    if examples:
        out["examples"] = column.get("examples", {})
    return out


def file_report_view(row: FileReportRow, *, examples: bool) -> dict[str, Any]:
    report = row.report
    view: dict[str, Any] = {"path": row.file.path, "oid": row.file.oid, "size": row.file.size,
                            "format": row.file.format, "status": row.status}
    if report is None:
        return view
    view.update({
        "revision": report.revision, "rowsScanned": report.rows_scanned, "truncated": report.truncated,
        "stoppedBy": report.stopped_by or None, "totals": report.totals, "problems": report.problems,
        "error": report.error or None,
        "columns": [_column(c, examples=examples) for c in report.columns],
        "scannedAt": report.scanned_at.isoformat() if report.scanned_at else None,
    })
    return view


def redaction_view(redaction: DatasetRedaction) -> dict[str, Any]:
    return {"id": redaction.pk, "state": redaction.state, "mode": redaction.mode, "revision": redaction.revision,
            "branch": redaction.branch, "paths": redaction.paths, "pullRequest": redaction.pull_request_num,
            "error": redaction.error or None, "result": redaction.result,
            "createdAt": redaction.created_at.isoformat(),
            "finishedAt": redaction.finished_at.isoformat() if redaction.finished_at else None}


def personal_data_overview(*, repo: Repository, revision: str | None, examples: bool) -> dict[str, Any]:
    """The report of every dataset file at `revision` (default: the default branch)."""
    rev = revision or repo.default_branch
    files: list[dict[str, Any]] = []
    sha: str | None = None
    if is_dataset_repo(repo):
        git = git_repo_for_read(repo)
        try:
            sha = git.resolve(rev)
        except GitError:
            if revision is not None:
                raise RevisionNotFound(f"Invalid rev id: {revision}") from None
        if sha is not None:
            files = [file_report_view(row, examples=examples) for row in revision_reports(repo=repo, git=git, sha=sha)]
    totals: dict[str, int] = {}
    for file in files:
        for entity, n in file.get("totals", {}).items():
            totals[entity] = totals.get(entity, 0) + n
    return {
        "revision": sha, "files": files, "totals": totals,
        "clean": all(f["status"] == "clean" and not f.get("truncated") for f in files),
        "finished": all(f["status"] != "queued" for f in files),
        "requireCleanReport": require_clean_report(repo), "entitiesChecked": list(ENTITIES),
        "unsupported": dict(UNSUPPORTED), "examplesShown": examples,
    }
