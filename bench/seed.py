"""Put bench data into a hub server-side, through the same services the API uses.

Runs inside a configured Django (`manage.py shell -c` of the hub under test, or the bench
process itself after `django.setup()`). LFS objects go through `lfs_object_upload`, the
service behind the LFS PUT (verified, then linked to the repository).
"""
from __future__ import annotations

import json
from typing import Any


def seed_repo(*, username: str, namespace: str, name: str, lfs: dict[str, tuple[str, str, int]] | None = None,
              files: dict[str, str] | None = None, private: bool = False) -> dict[str, Any]:
    """Create `namespace/name` (if needed) and commit `files` (text) and `lfs` files
    (`path -> (local file, sha256, size)`) on main. Returns the commit sha and repo id."""
    from accounts.models import User
    from repos.models import Repository
    from repos.objects import ingest as lfs_object_upload
    from repos.services.commits import AddFile, AddLfsFile, CommitHeader, commit_create
    from repos.services.repos import repo_create

    user = User.objects.get(username=username)
    repo = Repository.objects.filter(repo_type="model", namespace=namespace, name=name).first()
    if repo is None:
        repo = repo_create(user=user, namespace=namespace, name=name, private=private)
    ops: list[Any] = []
    for path, (local, oid, size) in (lfs or {}).items():
        with open(local, "rb") as f:
            lfs_object_upload(repo=repo, oid=oid, size=size, source=f)
        ops.append(AddLfsFile(path=path, oid=oid, size=size))
    for path, text in (files or {}).items():
        ops.append(AddFile(path=path, content=text.encode()))
    if not ops:
        return {"sha": None, "repo_id": repo.repo_id, "git_dir": str(repo.git_dir)}
    result = commit_create(repo=repo, user=user, revision="main", header=CommitHeader(summary="bench data"),
                           operations=ops)
    return {"sha": result.sha, "repo_id": repo.repo_id, "git_dir": str(repo.git_dir)}


def seed_repo_json(arguments: str) -> None:
    """Entry point for `manage.py shell -c`: JSON arguments in, one JSON line out."""
    print("SEED " + json.dumps(seed_repo(**json.loads(arguments))))
