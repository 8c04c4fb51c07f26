"""Where the hub's surfaces ask for files' security scan results, without knowing the scanner.

`safety` (which depends on `repos`, never the reverse) registers one reporter in its
`AppConfig.ready`; the tree / paths-info API, `model_info(securityStatus=True)` and the file
pages call `file_security_statuses` / `repo_security_status`. Without a registered reporter
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


_reporter: FileSecurityReporter | None = None


def register_file_security(reporter: FileSecurityReporter | None) -> None:
    global _reporter
    _reporter = reporter


def file_security_statuses(repo: Repository, files: Sequence[tuple[str, str]]) -> dict[str, dict[str, Any]]:
    if _reporter is None or not files:
        return {}
    return _reporter.file_statuses(repo, files)


def repo_security_status(repo: Repository, files: Sequence[tuple[str, str]]) -> dict[str, Any] | None:
    return None if _reporter is None else _reporter.repo_status(repo, files)
