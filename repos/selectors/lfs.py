"""Reads behind signed LFS URLs."""
from __future__ import annotations

from repos.models import Repository


def repo_by_storage_key(*, key: str) -> Repository | None:
    """The repository a signed LFS URL names (by storage key, stable across renames). No
    permission check: callers hold a signature that is the permission."""
    if len(key) != 32 or any(c not in "0123456789abcdef" for c in key):
        return None
    return Repository.objects.filter(storage_key=key).first()
