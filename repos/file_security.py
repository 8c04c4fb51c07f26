"""Where the hub's surfaces ask for files' security scan results, without knowing the scanner.

`safety` (which depends on `repos`, never the reverse) registers one reporter in its
`AppConfig.ready`; the tree / paths-info API, `model_info(securityStatus=True)` and the file
pages call `file_security_statuses` / `repo_security_status`; jobs call `flagged_paths`
before loading a revision's files. Without a registered reporter
the surfaces simply leave the fields out, as the Hub may.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from repos.models import Repository


class FileSecurityReporter(Protocol):
    def file_statuses(self, repo: Repository, files: Sequence[tuple[str, str]]) -> dict[str, dict[str, Any]]:
        """{path: Hub `securityFileStatus`} for `files` = [(path, content id)], where the
        content id is the LFS sha256 or the git blob id; every path gets a status."""

    def repo_status(self, repo: Repository, files: Sequence[tuple[str, str]]) -> dict[str, Any]:
        """The Hub's `securityRepoStatus` for the files of one revision."""

    def flagged_paths(self, repo: Repository, revision: str) -> set[str]:
        """Paths of `revision` whose verdict is anything but "safe" (files not judged yet excluded)."""

    def pending_paths(self, repo: Repository, revision: str) -> set[str]:
        """Paths of `revision` that have no verdict yet."""


_reporter: FileSecurityReporter | None = None


def register_file_security(reporter: FileSecurityReporter | None) -> None:
    global _reporter
    _reporter = reporter


def file_security_statuses(repo: Repository, files: Sequence[tuple[str, str]]) -> dict[str, dict[str, Any]]:
    if _reporter is None or not files:
        return {}
    return _reporter.file_statuses(repo, files)


def flagged_paths(repo: Repository, revision: str) -> set[str]:
    """What jobs refuse to load: files of `revision` a scanner judged anything but safe
    (`jobs` and `safety` are independent layers, so jobs ask here). Empty without a reporter."""
    return set() if _reporter is None else _reporter.flagged_paths(repo, revision)


def pending_paths(repo: Repository, revision: str) -> set[str]:
    """Files of `revision` not judged yet (a job may wait for them or refuse them)."""
    return set() if _reporter is None else _reporter.pending_paths(repo, revision)


def repo_security_status(repo: Repository, files: Sequence[tuple[str, str]]) -> dict[str, Any] | None:
    return None if _reporter is None else _reporter.repo_status(repo, files)
