"""Fixtures shared by the write-side tests: a fresh repository per test, uploaded LFS objects."""
from __future__ import annotations

import hashlib
import uuid

import pytest


@pytest.fixture
def repo(alice):
    from repos.services.repos import repo_create

    return repo_create(user=alice, namespace="alice", name=f"m-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def upload_lfs():
    """Store `data` in the LFS store and link it to `repo`, as the LFS upload flow does."""
    from repos.models import LfsObject, RepoLfsObject
    from repos.objects import storage_backend

    def upload(repo, data: bytes, *, link: bool = True) -> str:
        oid = hashlib.sha256(data).hexdigest()
        store = storage_backend()
        if not store.exists(oid):
            store.write_stream(oid, len(data), [data])
        obj, _ = LfsObject.objects.get_or_create(oid=oid, defaults={"size": len(data)})
        if link:
            RepoLfsObject.objects.get_or_create(repository=repo, lfs_object=obj)
        return oid

    return upload


def auth(token: str | None) -> dict[str, str]:
    """Django test client kwargs sending `token` as the HF client does."""
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}


@pytest.fixture
def tokens(alice, bob):
    """Write tokens of alice and bob, and a read-only token of alice."""
    from accounts.services.tokens import token_create

    return {
        "alice": token_create(user=alice, name="w", role="write")[1],
        "alice_read": token_create(user=alice, name="r", role="read")[1],
        "bob": token_create(user=bob, name="w", role="write")[1],
    }
