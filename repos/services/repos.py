"""Writes on repositories as a whole: create, delete, move, settings."""
from __future__ import annotations

import shutil

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Organization, User
from accounts.names import InvalidName, validate_namespace
from accounts.permissions import Principal, is_signed_in
from accounts.services.audit import audit
from hub.exceptions import BadRequest, Conflict
from repos import objects
from repos.git import errors as git_errors
from repos.git.commit import Signature, create_root_commit
from repos.git.gitattributes import DEFAULT_DATASET_GITATTRIBUTES, DEFAULT_MODEL_GITATTRIBUTES
from repos.git.paths import validate_repo_name
from repos.git.repository import GitRepo
from repos.models import RepoRedirect, Repository, RepoType
from repos.objects.encryption import repo_encrypted
from repos.policy.visibility import PublishRefused, publish_refusal
from repos.services.index import repo_reindex


def author_signature(user: Principal) -> Signature:
    """The git identity of a hub user (commits made through the API or UI)."""
    if not is_signed_in(user):
        return Signature("ModelHub", "noreply@modelhub.local")
    return Signature(user.username, user.email or f"{user.username}@users.noreply.modelhub.local")


def repo_create(*, user: User, namespace: str, name: str, repo_type: str = RepoType.MODEL,
                private: bool = False, ip: str | None = None) -> Repository:
    """Create the row, the bare repo and its "initial commit" with the default .gitattributes.

    The caller has checked `permissions.can_create_in_namespace`. The unique constraint on
    (type, namespace, name) claims the name first; if git fails, the row is rolled back and
    the directory removed, so a failed create leaves nothing behind.
    """
    try:
        validate_namespace(namespace)
        validate_repo_name(name)
    except (InvalidName, git_errors.GitError) as exc:
        raise BadRequest(f"Invalid repo name: {exc}") from exc
    if repo_type not in RepoType.values:
        raise BadRequest(f"Invalid repo type {repo_type!r}")
    # Ids are case-insensitive (repos.gate): a second spelling of an existing id is the same repo.
    if Repository.objects.filter(repo_type=repo_type, namespace__iexact=namespace, name__iexact=name).exists():
        raise Conflict(f"You already created this {repo_type} repo")
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
            audit(action="repo.create", actor=user, target=str(repo), ip=ip, private=private)
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


def repo_delete(*, repo: Repository, user: User, ip: str | None = None) -> None:
    """Delete the repository row (cascading to its index, PRs, grants and redirects) and,
    once that transaction has committed, its bare git directory.

    The caller has checked `permissions.can_admin`. Removing files only after the commit
    means a rolled-back delete never loses data; a crash in between leaves an orphan
    directory (keyed by storage_key, unreachable by name) rather than a row without data.
    Plain LFS objects are shared by content and left to garbage collection; the repository's
    encrypted ones are its own (their data keys go with the row) and are removed with it.
    """
    git_dir = repo.git_dir
    remove_encrypted = objects.encrypted_objects_remover(repo)
    with transaction.atomic():
        audit(action="repo.delete", actor=user, target=str(repo), ip=ip)
        repo.delete()
        transaction.on_commit(lambda: shutil.rmtree(git_dir, ignore_errors=True))
        transaction.on_commit(remove_encrypted)


def _namespace_owner(namespace: str) -> tuple[User | None, Organization | None]:
    organization = Organization.objects.filter(name=namespace).first()
    if organization is not None:
        return None, organization
    owner = User.objects.filter(username=namespace).first()
    if owner is None:
        raise BadRequest(f"Namespace {namespace!r} does not exist")
    return owner, None


def repo_move(*, repo: Repository, user: User, namespace: str, name: str,
              ip: str | None = None) -> Repository:
    """Rename and/or transfer a repository; the old id keeps working through a redirect.

    Only rows change: storage is keyed by `storage_key`, so no file moves. The caller has
    checked `can_admin` on the repo and `can_create_in_namespace` for the destination.
    """
    try:
        validate_namespace(namespace)
        validate_repo_name(name)
    except (InvalidName, git_errors.GitError) as exc:
        raise BadRequest(f"Invalid repo name: {exc}") from exc
    if (namespace, name) == (repo.namespace, repo.name):
        raise BadRequest("The source and destination repositories are the same")
    owner, organization = _namespace_owner(namespace)
    old_namespace, old_name = repo.namespace, repo.name
    try:
        with transaction.atomic():
            # A redirect parked on the destination name is superseded by the real repo.
            RepoRedirect.objects.filter(repo_type=repo.repo_type, namespace=namespace, name=name).delete()
            repo.namespace, repo.name = namespace, name
            repo.organization = organization
            if owner is not None:
                repo.owner = owner
            repo.save(update_fields=["namespace", "name", "organization", "owner"])
            RepoRedirect.objects.update_or_create(
                repo_type=repo.repo_type, namespace=old_namespace, name=old_name,
                defaults={"repository": repo},
            )
            audit(action="repo.move", actor=user, target=str(repo), ip=ip,
                  from_repo=f"{old_namespace}/{old_name}", to_repo=repo.repo_id)
    except IntegrityError as exc:
        repo.namespace, repo.name = old_namespace, old_name
        raise Conflict(f"A {repo.repo_type} repo named {namespace}/{name} already exists") from exc
    return repo


def repo_update_settings(*, repo: Repository, user: User, private: bool | None = None,
                         gated: str | None = None, encrypt_objects: bool | None = None,
                         ip: str | None = None) -> Repository:
    """Change visibility, gating (`gated` is "", "auto" or "manual") and/or the encryption
    opt-in of a public repository; None = unchanged.

    When that changes whether the repository's LFS objects are encrypted at rest, a task
    (`repos.tasks.repo_objects_settle`) encrypts or decrypts them after the commit; they stay
    readable meanwhile. The caller has checked `gate.can_manage` (the "settings" action).
    Going public is refused (`PublishRefused`, 409) while a registered guard objects
    (`repos.policy.visibility`).
    """
    fields: list[str] = []
    was_encrypted = repo_encrypted(repo)
    with transaction.atomic():
        if private is not None and private != repo.private:
            if not private and (reason := publish_refusal(repo)):
                raise PublishRefused(reason)
            repo.private = private
            fields.append("private")
            audit(action="repo.visibility", actor=user, target=str(repo), ip=ip, private=private)
        if encrypt_objects is not None and encrypt_objects != repo.encrypt_objects:
            repo.encrypt_objects = encrypt_objects
            fields.append("encrypt_objects")
            audit(action="repo.encrypt_objects", actor=user, target=str(repo), ip=ip, encrypt_objects=encrypt_objects)
        if gated is not None and gated != repo.gated:
            if gated not in Repository.Gated.values:
                raise BadRequest(f"Invalid gated value {gated!r}")
            repo.gated = gated
            fields.append("gated")
            audit(action="repo.gated", actor=user, target=str(repo), ip=ip, gated=gated)
        if fields:
            repo.save(update_fields=fields)
        if repo_encrypted(repo) != was_encrypted:
            from repos.tasks import repo_objects_settle  # the task module imports the services

            repo_pk = repo.pk
            transaction.on_commit(lambda: repo_objects_settle.delay(repo_pk), robust=True)
    return repo
