"""Deleting and moving files and folders: commits made of the repository's own content.

Both build the operations of an ordinary commit - `DeleteFile` / `DeleteFolder`, and for a
move the same bytes added under the new path - and hand them to `commit_create`, so the push
policy, the LFS rules (`.gitattributes` gains a rule when an LFS file moves where no rule
covers it), the parent check, the index and the event are those of every other commit. An
LFS file moves as its pointer: the object is linked to this repository already and no byte of
it is read. Regular files are read one at a time as the commit stages them (the operations
are a lazy iterator), each bounded by the regular-file limit of the upload policy; a folder is
walked within the walk limits. A moved file keeps its content, not its git mode (an
executable bit or a symlink becomes a regular file, as with the HF commit API).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace

from accounts.models import AccessToken
from accounts.permissions import Principal
from hub.exceptions import BadRequest, Conflict, EntryNotFound
from repos.events import Origin
from repos.git.errors import InvalidPath
from repos.git.paths import normalize_repo_path
from repos.git.repository import GitRepo, TreeEntry
from repos.handles import git_repo, walk_limits
from repos.models import Repository
from repos.revisions import git_errors_as_http
from repos.services.commits import (
    AddFile,
    CommitHeader,
    CommitOperation,
    CommitResult,
    DeleteFile,
    DeleteFolder,
    commit_create,
)

MAX_PATHS_PER_DELETE = 1000


def _path(path: str) -> str:
    try:
        return normalize_repo_path(path.strip().strip("/"))
    except InvalidPath as exc:
        raise BadRequest(str(exc)) from exc


def _base(git: GitRepo, branch: str, header: CommitHeader) -> tuple[str, CommitHeader]:
    """The commit the change is computed on: the parent the page was shown at (the commit
    then refuses with 412 if the branch moved since), else the branch's head, made the
    parent so that nothing pushed meanwhile is silently deleted or overwritten."""
    with git_errors_as_http():
        if header.parent_commit:
            return git.resolve(header.parent_commit.lower()), header
        head = git.resolve(f"refs/heads/{branch}")
    return head, replace(header, parent_commit=head)


def _entry(git: GitRepo, sha: str, path: str) -> TreeEntry:
    with git_errors_as_http():
        entry = git.get_entry(sha, path)
    if entry is None:
        raise EntryNotFound(f"{path} does not exist")
    return entry


def paths_delete(*, repo: Repository, user: Principal, branch: str, paths: Sequence[str], header: CommitHeader,
                 token: AccessToken | None = None, origin: Origin = "web", ip: str | None = None,
                 create_pr: bool = False) -> CommitResult:
    """Delete files and folders (each path is looked up at the parent commit) in one commit
    on `branch`, or in a pull request against it. The caller authorized as for `commit_create`."""
    if not paths:
        raise BadRequest("Name at least one file or folder to delete")
    if len(paths) > MAX_PATHS_PER_DELETE:
        raise BadRequest(f"At most {MAX_PATHS_PER_DELETE} paths per deletion")
    git = git_repo(repo)
    base, header = _base(git, branch, header)
    operations: list[CommitOperation] = []
    for raw in paths:
        path = _path(raw)
        entry = _entry(git, base, path)
        operations.append(DeleteFolder(path) if entry.type == "directory" else DeleteFile(path))
    return commit_create(repo=repo, user=user, revision=branch, header=header, operations=operations,
                         create_pr=create_pr, token=token, origin=origin, ip=ip, draft=False)


def _moved(git: GitRepo, base: str, entry: TreeEntry, destination: str) -> Iterator[CommitOperation]:
    """The operations of a move, lazily: each file's bytes are read when the commit stages it."""
    if entry.type == "file":
        yield DeleteFile(entry.path)
        yield AddFile(destination, git.read_blob(entry.oid))
        return
    yield DeleteFolder(entry.path)
    with git_errors_as_http():
        for item in git.walk(base, entry.path, files_only=True, limits=walk_limits()):
            yield AddFile(destination + item.path[len(entry.path):], git.read_blob(item.oid))


def path_move(*, repo: Repository, user: Principal, branch: str, source: str, destination: str,
              header: CommitHeader, token: AccessToken | None = None, origin: Origin = "web",
              ip: str | None = None, create_pr: bool = False) -> CommitResult:
    """Rename or move the file or folder `source` to `destination` (which must not exist) in one
    commit on `branch`, or in a pull request against it. The caller authorized as for
    `commit_create`, and read access to the file bytes (a move copies them)."""
    source, destination = _path(source), _path(destination)
    if source == destination:
        raise BadRequest("The new path is the same as the old one")
    if destination.startswith(source + "/"):
        raise BadRequest(f"A folder cannot be moved into itself ({source} -> {destination})")
    git = git_repo(repo)
    base, header = _base(git, branch, header)
    entry = _entry(git, base, source)
    with git_errors_as_http():
        if git.get_entry(base, destination) is not None:
            raise Conflict(f"{destination} already exists")
        parts = destination.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            found = git.get_entry(base, folder)
            if found is not None and found.type == "file":
                raise Conflict(f"{folder} is a file: it cannot hold {destination}")
    return commit_create(repo=repo, user=user, revision=branch, header=header,
                         operations=_moved(git, base, entry, destination), create_pr=create_pr, token=token,
                         origin=origin, ip=ip, draft=False)
