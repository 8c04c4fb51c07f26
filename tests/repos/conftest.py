"""Fixtures of the repository tests (thin wrappers over tests/factories.py): alice's repository,
the personas' tokens, and a real git client (isolated HOME) with its work folder."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.factories import RepositoryFactory, TokenFactory
from tests.repos.git_client import client_git_env


@pytest.fixture
def repo(alice):
    """A fresh model repository of alice ("alice/m-<8 hex>"), created by `repo_create`."""
    return RepositoryFactory(owner=alice, name=f"m-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def tokens(alice, bob) -> dict[str, str]:
    """Secrets of write tokens of alice and bob, and of a read-only token of alice."""
    return {
        "alice": TokenFactory(user=alice, name="w").secret,
        "alice_read": TokenFactory(user=alice, name="r", role="read").secret,
        "bob": TokenFactory(user=bob, name="w").secret,
    }


@pytest.fixture
def git_env(tmp_path: Path) -> dict[str, str]:
    return client_git_env(tmp_path / "home")


@pytest.fixture
def work(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def upload_lfs():
    """`upload_lfs(repo, data)`: an LFS object uploaded to `repo` through the byte door (the
    LfsObjectFactory), returning its oid."""
    from tests.factories import LfsObjectFactory

    return lambda repo, data: LfsObjectFactory(repo=repo, data=data).oid
