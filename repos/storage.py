"""Where a repository's bytes live: its bare git repo and the LFS object store.

The only bridge between Django settings and the pure layers in `repos.git` / `repos.lfs`.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from django.conf import settings

from repos.git.repository import GitRepo
from repos.lfs.store import LfsStore
from repos.models import Repository


def git_repo(repo: Repository) -> GitRepo:
    return GitRepo.open(repo.git_dir)


@lru_cache(maxsize=1)
def _lfs_store(root: str, tmp: str) -> LfsStore:
    return LfsStore(Path(root), Path(tmp))


def lfs_store() -> LfsStore:
    return _lfs_store(str(settings.LFS_ROOT), str(settings.TMP_ROOT))


def public_url(path: str = "") -> str:
    """An absolute URL on the base URL clients use as HF_ENDPOINT."""
    return f"{settings.PUBLIC_URL}/{path.lstrip('/')}" if path else settings.PUBLIC_URL
