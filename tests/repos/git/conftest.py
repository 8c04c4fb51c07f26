"""Fixtures for the pure git layer: real bare repositories in a temporary directory."""
from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from repos.git.commit import Signature, create_root_commit
from repos.git.repository import GitRepo

AUTHOR = Signature("Alice", "alice@example.com")

# The git binary must not depend on the machine's global configuration (identity, hooks,
# default branch): tests pin what they need.
GIT_ENV = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "HOME": "/nonexistent",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_AUTHOR_NAME": "Bob",
    "GIT_AUTHOR_EMAIL": "bob@example.com",
    "GIT_COMMITTER_NAME": "Bob",
    "GIT_COMMITTER_EMAIL": "bob@example.com",
    "LC_ALL": "C",
}

GitRunner = Callable[..., str]


def run_git(cwd: Path, *args: str, check: bool = True) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {result.stderr}")
    return result.stdout


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo.init_bare(tmp_path / "ab" / "ab12.git")


@pytest.fixture
def seeded(repo: GitRepo) -> tuple[GitRepo, str]:
    """A repository whose `main` has one commit with a small nested tree."""
    sha = create_root_commit(
        repo,
        ref="main",
        files={
            "README.md": b"# hello\n",
            "config.json": b'{"a": 1}\n',
            "src/model.py": b"print('hi')\n",
            "src/utils/io.py": b"x = 1\n",
            "data/train.csv": b"a,b\n1,2\n",
        },
        author=AUTHOR,
        message="initial commit",
    )
    return repo, sha


@pytest.fixture
def git(repo: GitRepo) -> GitRunner:
    """Run the git binary inside the bare repository."""

    def _git(*args: str, check: bool = True) -> str:
        return run_git(repo.path, *args, check=check)

    return _git
