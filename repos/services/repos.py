"""Writes on repositories as a whole: create, delete, move, settings."""
from __future__ import annotations

import shutil
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Organization, User
from hub.exceptions import BadRequest, Conflict
from repos.git import errors as git_errors
from repos.git.commit import Signature, create_root_commit
from repos.git.paths import validate_namespace, validate_repo_name
from repos.git.repository import GitRepo
from repos.gitattributes import DEFAULT_DATASET_GITATTRIBUTES, DEFAULT_MODEL_GITATTRIBUTES
from repos.models import Repository, RepoType
from repos.services.index import repo_reindex


def author_signature(user: Any) -> Signature:
    """The git identity of a hub user (commits made through the API or UI)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Signature("ModelHub", "noreply@modelhub.local")
    return Signature(user.username, user.email or f"{user.username}@users.noreply.modelhub.local")


def repo_create(*, user: User, namespace: str, name: str, repo_type: str = RepoType.MODEL,
                private: bool = False) -> Repository:
    """Create the row, the bare repo and its "initial commit" with the default .gitattributes.

    The caller has checked `permissions.can_create_in_namespace`. The unique constraint on
    (type, namespace, name) claims the name first; if git fails, the row is rolled back and
    the directory removed, so a failed create leaves nothing behind.
    """
    try:
        validate_namespace(namespace)
        validate_repo_name(name)
    except git_errors.GitError as exc:
        raise BadRequest(f"Invalid repo name: {exc}") from exc
    if repo_type not in RepoType.values:
        raise BadRequest(f"Invalid repo type {repo_type!r}")
    organization = Organization.objects.filter(name=namespace).first()
    git_dir = None
    try:
        with transaction.atomic():
            repo = Repository.objects.create(
                repo_type=repo_type, namespace=namespace, name=name, owner=user,
                organization=organization, private=private,
            )
            git_dir = repo.git_dir
            git = GitRepo.init_bare(git_dir, default_branch=repo.default_branch)
            attributes = (DEFAULT_DATASET_GITATTRIBUTES if repo_type == RepoType.DATASET
                          else DEFAULT_MODEL_GITATTRIBUTES)
            create_root_commit(git, ref=f"refs/heads/{repo.default_branch}",
                               files={".gitattributes": attributes.encode()},
                               author=author_signature(user), message="initial commit")
            repo_reindex(repo=repo, git=git)
    except IntegrityError as exc:
        raise Conflict(f"You already created this {repo_type} repo") from exc
    except BaseException:
        if git_dir is not None:
            shutil.rmtree(git_dir, ignore_errors=True)
        raise
    return repo


def repo_touch(*, repo: Repository) -> None:
    repo.last_modified = timezone.now()
    repo.save(update_fields=["last_modified"])
