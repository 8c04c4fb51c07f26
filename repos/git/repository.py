"""Read access to a bare repository: revisions, refs, trees, blobs and history.

`GitRepo` wraps a `pygit2.Repository` and speaks in the hub's terms (full commit shas,
repo-relative paths, `TreeEntry`/`CommitInfo` values). Every method that takes user text
validates it here or in `repos.git.paths`; revisions are resolved by explicit ref lookups,
never by git's revision-expression parser, so `main..x`, `HEAD@{1}` or `--upload-pack=x`
cannot mean anything but "not found".

Writes live in `repos.git.commit`; this module never moves a ref.
"""
from __future__ import annotations

import heapq
import itertools
import os
import posixpath
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import pygit2
from pygit2.enums import FileMode, RepositoryOpenFlag, SortMode

from repos.git.errors import EntryNotFound, GitError, InvalidPath, RevisionNotFound, TreeTooLarge
from repos.git.limits import DEFAULT_LIMITS, Deadline, TreeStats, WalkLimits, tree_stats
from repos.git.paths import normalize_folder_path, validate_branch_name

_HEX40_RE = re.compile(r"[0-9a-fA-F]{40}")
_SHORT_HEX_RE = re.compile(r"[0-9a-fA-F]{7,39}")
# Anything git's revision syntax gives meaning to (ranges, reflog, parents, paths, globs),
# plus whitespace and control characters. Such text can never name a branch or tag (git's
# check-ref-format forbids it too), so refusing it up front loses nothing.
_REV_FORBIDDEN_RE = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
_MAX_REV_LEN = 1024

_TREE_MODE = int(FileMode.TREE)
_GITLINK_MODE = int(FileMode.COMMIT)

# Errors pygit2 raises for a missing, ambiguous or malformed object/ref name.
_LOOKUP_ERRORS = (KeyError, ValueError, TypeError, pygit2.GitError)


@dataclass(frozen=True)
class TreeEntry:
    """One file or directory of a commit's tree; `path` is relative to the repository root."""

    path: str
    type: Literal["file", "directory"]
    oid: str
    mode: int
    size: int  # blob size in bytes for files, 0 for directories


@dataclass(frozen=True)
class CommitInfo:
    """A commit as the hub shows it. `message` is the full message, `title` its first line."""

    sha: str
    title: str
    message: str
    author_name: str
    author_email: str
    date: datetime  # author date, timezone-aware UTC
    parents: list[str]


class GitRepo:
    """A bare git repository on disk.

    Instances are cheap and not meant to be shared between threads: open one per request or
    task (libgit2 repository handles are not safe for concurrent use).
    """

    def __init__(self, path: Path | str) -> None:
        try:
            # NO_SEARCH: a missing repository must be an error, not a silent discovery of
            # some enclosing repository (the project checkout, a parent data directory).
            self._repo = pygit2.Repository(os.fspath(path), RepositoryOpenFlag.NO_SEARCH)
        except pygit2.GitError as exc:
            raise GitError(f"Not a git repository: {path}") from exc
        self._odb = self._repo.odb

    # ------------------------------------------------------------------ construction

    @classmethod
    def open(cls, path: Path | str) -> GitRepo:
        """Open an existing repository (raises GitError if `path` is not one)."""
        return cls(path)

    @classmethod
    def init_bare(cls, path: Path | str, *, default_branch: str = "main") -> GitRepo:
        """Create an empty bare repository at `path` (parents included) and open it.

        HEAD points at `refs/heads/<default_branch>` (unborn until the first commit). Refuses
        a non-empty existing directory so a key collision can never adopt someone else's
        repository.
        """
        validate_branch_name(default_branch)
        target = Path(path)
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise GitError(f"Cannot create a repository at {target}: it already exists")
        target.mkdir(parents=True, exist_ok=True)
        raw = pygit2.init_repository(
            os.fspath(target), bare=True, initial_head=default_branch
        )
        config = raw.config
        # Bare repositories default to no reflogs; we want them as an audit trail of every
        # ref move (API commits, pushes, merges) and for recovery after mistakes.
        config["core.logAllRefUpdates"] = "true"
        # Pushed objects are checked like `git fsck` would (malformed trees, `.git` entries,
        # bad modes) before they are accepted.
        config["receive.fsckObjects"] = "true"
        return cls(target)

    # ------------------------------------------------------------------ properties

    @property
    def path(self) -> Path:
        """The git directory."""
        return Path(self._repo.path)

    @property
    def raw(self) -> pygit2.Repository:
        """The underlying pygit2 repository, for the other modules of this package only."""
        return self._repo

    @property
    def default_branch(self) -> str | None:
        """The branch HEAD points to (even if unborn), or None if HEAD is not a branch."""
        try:
            head = self._repo.references["HEAD"]
        except _LOOKUP_ERRORS:
            return None
        target = head.target
        if isinstance(target, str) and target.startswith("refs/heads/"):
            return target[len("refs/heads/"):]
        return None

    def is_empty(self) -> bool:
        """True when the repository has no refs at all (a freshly created repository)."""
        return not self._repo.listall_references()

    # ------------------------------------------------------------------ revisions

    def resolve(self, rev: str) -> str:
        """Return the full sha (40 lowercase hex) of the commit `rev` names.

        Accepted, in this order: a full sha; `HEAD`; a full ref (`refs/heads/x`,
        `refs/tags/v1`, `refs/pr/3`); a branch short name; a tag short name (annotated tags
        are peeled); a unique sha prefix of at least 7 hex digits. Anything else, including
        revision expressions and option-like text, raises RevisionNotFound.
        """
        if (
            not isinstance(rev, str)
            or not rev
            or len(rev) > _MAX_REV_LEN
            or rev.startswith("-")
            or ".." in rev
            or "@{" in rev
            or _REV_FORBIDDEN_RE.search(rev)
        ):
            raise RevisionNotFound(f"Invalid rev id: {rev!r}")

        # Like git, a full sha wins over a ref of the same spelling; if no such object exists
        # the text may still be a (strangely named) branch, so fall through.
        if _HEX40_RE.fullmatch(rev):
            sha = self._peel_to_commit_sha(self._lookup_object(rev.lower()))
            if sha is not None:
                return sha

        if rev == "HEAD" or rev.startswith("refs/"):
            candidates = [rev]
        else:
            # Branch before tag: HF resolves an ambiguous name to the branch (git would
            # prefer the tag, but the Hub's users think in branches).
            candidates = [f"refs/heads/{rev}", f"refs/tags/{rev}"]
        for name in candidates:
            ref = self._lookup_ref(name)
            if ref is not None:
                sha = self._peel_to_commit_sha(ref)
                if sha is None:  # an unborn HEAD, or a ref to a tree or blob
                    raise RevisionNotFound(f"Invalid rev id: {rev!r}")
                return sha

        if _SHORT_HEX_RE.fullmatch(rev):
            sha = self._peel_to_commit_sha(self._lookup_object(rev.lower()))
            if sha is not None:
                return sha

        raise RevisionNotFound(f"Invalid rev id: {rev!r}")

    def _lookup_ref(self, name: str) -> pygit2.Reference | None:
        try:
            return self._repo.references.get(name)
        except _LOOKUP_ERRORS:
            return None

    def _lookup_object(self, hex_or_prefix: str) -> pygit2.Object | None:
        try:
            # For a prefix this is git_object_lookup_prefix: an ambiguous prefix raises,
            # which we report as not found rather than guessing.
            return self._repo.get(hex_or_prefix)
        except _LOOKUP_ERRORS:
            return None

    @staticmethod
    def _peel_to_commit_sha(obj: pygit2.Object | pygit2.Reference | None) -> str | None:
        if obj is None:
            return None
        try:
            return str(obj.peel(pygit2.Commit).id)
        except _LOOKUP_ERRORS:
            return None

    def get_commit(self, sha: str) -> pygit2.Commit:
        """The pygit2 commit with full sha `sha` (for this package's write/diff modules).

        Layer methods take resolved 40-hex shas, not revisions: resolve user text first.
        """
        if not isinstance(sha, str) or not _HEX40_RE.fullmatch(sha):
            raise RevisionNotFound(f"Invalid commit sha: {sha!r}")
        obj = self._lookup_object(sha.lower())
        if not isinstance(obj, pygit2.Commit):
            raise RevisionNotFound(f"Commit not found: {sha}")
        return obj

    # ------------------------------------------------------------------ refs

    def refs(self, prefix: str) -> dict[str, str]:
        """Full ref name -> commit sha for every ref starting with `prefix`, sorted by name.

        Refs that do not peel to a commit (a pushed tag of a tree, say) are left out: every
        value is something `log`/`list_tree` accept.
        """
        out: dict[str, str] = {}
        for name in sorted(self._repo.listall_references()):
            if not name.startswith(prefix):
                continue
            sha = self._peel_to_commit_sha(self._lookup_ref(name))
            if sha is not None:
                out[name] = sha
        return out

    def branches(self) -> dict[str, str]:
        """Branch short name -> commit sha."""
        return {name[len("refs/heads/"):]: sha for name, sha in self.refs("refs/heads/").items()}

    def tags(self) -> dict[str, str]:
        """Tag short name -> commit sha (annotated tags peeled)."""
        return {name[len("refs/tags/"):]: sha for name, sha in self.refs("refs/tags/").items()}

    # ------------------------------------------------------------------ trees and blobs

    def _entry(self, path: str, obj: pygit2.Object) -> TreeEntry:
        mode = int(obj.filemode)
        if mode == _TREE_MODE:
            return TreeEntry(path=path, type="directory", oid=str(obj.id), mode=mode, size=0)
        # read_header gets the size without inflating the blob (trees can hold many large
        # non-LFS files; `Blob.size` would load each of them).
        _, size = self._odb.read_header(obj.id)
        return TreeEntry(path=path, type="file", oid=str(obj.id), mode=mode, size=size)

    def _subtree(self, commit: pygit2.Commit, path: str) -> tuple[str, pygit2.Tree]:
        if path in ("", "/"):
            return "", commit.tree
        norm = normalize_folder_path(path)
        try:
            obj = commit.tree[norm]
        except _LOOKUP_ERRORS:
            raise EntryNotFound(f"Folder not found: {norm!r}") from None
        if not isinstance(obj, pygit2.Tree):
            raise EntryNotFound(f"Not a folder: {norm!r}")
        return norm, obj

    def list_tree(
        self, commit_sha: str, path: str = "", recursive: bool = False, *, limits: WalkLimits = DEFAULT_LIMITS,
    ) -> list[TreeEntry]:
        """Entries under folder `path` ("" = root) of a commit, in git's tree order.

        Non-recursive: the direct children. Recursive: every file and directory at any depth
        below `path`, each directory listed before its contents. Submodule entries
        (gitlinks) are skipped: they have no content in this repository. Raises EntryNotFound
        if `path` is missing or is a file, TreeTooLarge past `limits`.
        """
        if recursive:
            return list(self.walk(commit_sha, path, limits=limits))
        commit = self.get_commit(commit_sha)
        base, tree = self._subtree(commit, path)
        if len(tree) > limits.max_entries:
            raise TreeTooLarge(f"folder {base or '/'} holds {len(tree):,} entries (at most {limits.max_entries:,})")
        return [
            self._entry(_join(base, obj.name or ""), obj)
            for obj in tree
            if int(obj.filemode) != _GITLINK_MODE
        ]

    def walk(self, commit_sha: str, path: str = "", *, files_only: bool = False,
             limits: WalkLimits = DEFAULT_LIMITS, after: str | None = None) -> Iterator[TreeEntry]:
        """Entries below folder `path` of a commit, lazily, in git order (each folder before its
        contents; folders left out with `files_only`), bounded by `limits`: TreeTooLarge is
        raised once more than `max_paths` entries were walked, past `max_depth`, for a folder
        of more than `max_entries` entries, or past the time budget.

        `after` resumes a listing just after that path (a page cursor): the walk seeks to it
        along its folders instead of walking everything before it.
        """
        commit = self.get_commit(commit_sha)  # validated now, not at the first next()
        base, tree = self._subtree(commit, path)
        stack = self._seek(tree, base, after, limits) if after else [(base, self._children(tree, base, limits))]
        return self._walk_stack(stack, files_only=files_only, limits=limits)

    def _children(self, tree: pygit2.Tree, base: str, limits: WalkLimits) -> Iterator[pygit2.Object]:
        if len(tree) > limits.max_entries:
            raise TreeTooLarge(f"folder {base or '/'} holds {len(tree):,} entries (at most {limits.max_entries:,})")
        return iter(tree)

    def _seek(self, tree: pygit2.Tree, base: str, after: str,
              limits: WalkLimits) -> list[tuple[str, Iterator[pygit2.Object]]]:
        """The walk's stack positioned just after path `after` (which need not exist any more:
        the walk then resumes at the first path git's order puts after it)."""
        rel = after[len(base) + 1:] if base and after.startswith(base + "/") else after
        parts = [p for p in rel.split("/") if p]
        if len(parts) > limits.max_depth:
            raise TreeTooLarge(f"folders nest more than {limits.max_depth} levels deep")
        stack: list[tuple[str, Iterator[pygit2.Object]]] = []
        prefix = base
        for i, part in enumerate(parts):
            entries = list(self._children(tree, prefix, limits))
            last = i == len(parts) - 1
            index = next((j for j, e in enumerate(entries) if e.name == part), None)
            if index is None:
                # Gone since the previous page: resume where it would sort (a folder sorts as
                # "name/" in git; compare both spellings conservatively).
                key = part.encode("utf-8", "surrogateescape")
                rest = [e for e in entries if _sort_key(e) > key]
                stack.append((prefix, iter(rest)))
                return stack
            entry = entries[index]
            stack.append((prefix, iter(entries[index + 1:])))
            if int(entry.filemode) != _TREE_MODE:
                return stack
            subtree = self._repo[entry.id]
            assert isinstance(subtree, pygit2.Tree)
            prefix = _join(prefix, part)
            if last:
                stack.append((prefix, self._children(subtree, prefix, limits)))
                return stack
            tree = subtree
        return stack

    def _walk_stack(self, stack: list[tuple[str, Iterator[pygit2.Object]]], *, files_only: bool,
                    limits: WalkLimits) -> Iterator[TreeEntry]:
        # An explicit stack of iterators instead of recursion: depth is user controlled.
        deadline = Deadline(limits.seconds)
        walked = 0
        while stack:
            prefix, entries = stack[-1]
            for obj in entries:
                mode = int(obj.filemode)
                if mode == _GITLINK_MODE:
                    continue
                walked += 1
                if walked > limits.max_paths:
                    raise TreeTooLarge(f"more than {limits.max_paths:,} paths")
                deadline.check()
                path = _join(prefix, obj.name or "")
                if mode == _TREE_MODE:
                    if len(stack) >= limits.max_depth:
                        raise TreeTooLarge(f"folders nest more than {limits.max_depth} levels deep")
                    if not files_only:
                        yield self._entry(path, obj)
                    subtree = self._repo[obj.id]
                    assert isinstance(subtree, pygit2.Tree)
                    stack.append((path, self._children(subtree, path, limits)))
                    break
                yield self._entry(path, obj)
            else:
                stack.pop()

    def iter_files(self, commit_sha: str, *, limits: WalkLimits = DEFAULT_LIMITS) -> Iterator[TreeEntry]:
        """Every file of a commit (recursive, directories omitted), lazily and bounded."""
        return self.walk(commit_sha, files_only=True, limits=limits)

    def tree_stats(self, commit_sha: str, *, limits: WalkLimits = DEFAULT_LIMITS) -> TreeStats:
        """Paths, depth and widest folder of a commit's tree (`repos.git.limits.tree_stats`)."""
        return tree_stats(self._repo, self.get_commit(commit_sha).tree_id, limits=limits)

    def get_entry(self, commit_sha: str, path: str) -> TreeEntry | None:
        """The file or directory at `path` in a commit, or None if there is none.

        "" is the root directory. Raises InvalidPath for paths that cannot exist.
        """
        commit = self.get_commit(commit_sha)
        if path in ("", "/"):
            return TreeEntry(path="", type="directory", oid=str(commit.tree_id), mode=_TREE_MODE,
                             size=0)
        norm = normalize_folder_path(path)
        try:
            obj = commit.tree[norm]
        except _LOOKUP_ERRORS:
            return None
        if int(obj.filemode) == _GITLINK_MODE:
            return None
        return self._entry(norm, obj)

    def read_blob(self, oid: str) -> bytes:
        """The content of blob `oid` (whole, in memory: use for small files only)."""
        obj = self._lookup_object(oid.lower()) if _is_hex40(oid) else None
        if not isinstance(obj, pygit2.Blob):
            raise EntryNotFound(f"Blob not found: {oid!r}")
        return obj.data

    def blob_size(self, oid: str) -> int:
        """The size of blob `oid` in bytes, without reading its content."""
        if not _is_hex40(oid):
            raise EntryNotFound(f"Blob not found: {oid!r}")
        try:
            kind, size = self._odb.read_header(oid.lower())
        except _LOOKUP_ERRORS:
            raise EntryNotFound(f"Blob not found: {oid!r}") from None
        if kind != pygit2.enums.ObjectType.BLOB:
            raise EntryNotFound(f"Not a blob: {oid!r}")
        return size

    # ------------------------------------------------------------------ history

    def commit_info(self, sha: str) -> CommitInfo:
        return _commit_info(self.get_commit(sha))

    def log(
        self, rev_sha: str, *, path: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[CommitInfo]:
        """Commits reachable from `rev_sha`, newest first, `offset`/`limit` paginated.

        With `path` (file or folder), only commits that changed it, using git's default
        history simplification: a merge is shown only if it differs from every parent, and
        only the parent it matches is followed when it equals one (so changes that a merge
        discarded do not show up).
        """
        commit = self.get_commit(rev_sha)
        if limit <= 0:
            return []
        offset = max(offset, 0)
        if path is None or path in ("", "/"):
            walker = self._repo.walk(commit.id, SortMode.TOPOLOGICAL | SortMode.TIME)
            commits: Iterable[pygit2.Commit] = walker
        else:
            commits = self._walk_path(commit, normalize_folder_path(path))
        return [_commit_info(c) for c in itertools.islice(commits, offset, offset + limit)]

    def _walk_path(self, head: pygit2.Commit, path: str) -> Iterator[pygit2.Commit]:
        counter = itertools.count()  # tie-breaker: commits are not orderable
        queue: list[tuple[int, int, pygit2.Commit]] = [(-head.commit_time, next(counter), head)]
        seen = {head.id}
        while queue:
            _, _, commit = heapq.heappop(queue)
            mine = _path_id(commit.tree, path)
            parents = commit.parents
            follow: list[pygit2.Commit]
            # The first parent with the same version at `path`, as git picks it.
            treesame = next((p for p in parents if _path_id(p.tree, path) == mine), None)
            if not parents:
                if mine is not None:
                    yield commit
                follow = []
            elif treesame is not None:
                follow = [treesame]
            else:
                yield commit
                follow = parents
            for parent in follow:
                if parent.id not in seen:
                    seen.add(parent.id)
                    heapq.heappush(queue, (-parent.commit_time, next(counter), parent))

    def count_commits(self, sha: str) -> int:
        """Number of commits reachable from `sha` (itself included)."""
        commit = self.get_commit(sha)
        return sum(1 for _ in self._repo.walk(commit.id, SortMode.NONE))

    def is_ancestor(self, a: str, b: str) -> bool:
        """True if commit `a` is `b` or one of its ancestors (like `merge-base --is-ancestor`)."""
        ca, cb = self.get_commit(a), self.get_commit(b)
        return ca.id == cb.id or self._repo.descendant_of(cb.id, ca.id)

    def last_commit_for_paths(
        self, commit_sha: str, paths: Iterable[str], *, max_commits: int = 1000
    ) -> dict[str, CommitInfo]:
        """For each path, the newest commit that produced its current version (best effort).

        Walks at most `max_commits` commits from `commit_sha`; paths not settled by then, and
        paths that do not exist at `commit_sha`, are absent from the result. Keys are the
        paths as given. Whole folders are compared first, so a commit that touched nothing
        under a listed folder costs one lookup per folder rather than one per path.
        """
        head = self.get_commit(commit_sha)
        wanted: dict[str, str] = {}  # normalized -> as given
        for given in paths:
            if given in ("", "/"):
                continue
            try:
                wanted.setdefault(normalize_folder_path(given), given)
            except InvalidPath:
                continue
        target = {p: _path_id(head.tree, p) for p in wanted}
        pending: dict[str, set[str]] = {}  # parent folder -> paths still unresolved
        for p, oid in target.items():
            if oid is not None:
                pending.setdefault(posixpath.dirname(p), set()).add(p)

        result: dict[str, CommitInfo] = {}
        walker = self._repo.walk(head.id, SortMode.TOPOLOGICAL | SortMode.TIME)
        for commit in itertools.islice(walker, max(max_commits, 0)):
            if not pending:
                break
            tree = commit.tree
            parent_trees = [parent.tree for parent in commit.parents]
            info: CommitInfo | None = None
            for folder in list(pending):
                folder_id = _path_id(tree, folder)
                if any(_path_id(pt, folder) == folder_id for pt in parent_trees):
                    continue  # nothing under this folder changed relative to some parent
                settled = set()
                for p in pending[folder]:
                    mine = _path_id(tree, p)
                    if mine != target[p]:
                        continue  # this commit does not hold the current version
                    if any(_path_id(pt, p) == mine for pt in parent_trees):
                        continue
                    info = info or _commit_info(commit)
                    result[wanted[p]] = info
                    settled.add(p)
                pending[folder] -= settled
                if not pending[folder]:
                    del pending[folder]
        return result


# ---------------------------------------------------------------------- helpers


def _sort_key(entry: pygit2.Object) -> bytes:
    """git's tree order: names as bytes, a folder compared as if its name ended with "/"."""
    name = (entry.name or "").encode("utf-8", "surrogateescape")
    return name + b"/" if int(entry.filemode) == _TREE_MODE else name


def _join(base: str, name: str) -> str:
    return f"{base}/{name}" if base else name


def _is_hex40(value: object) -> bool:
    return isinstance(value, str) and _HEX40_RE.fullmatch(value) is not None


def _path_id(tree: pygit2.Tree, path: str) -> pygit2.Oid | None:
    """The object id at `path` in `tree` ("" = the tree itself), None if absent."""
    if not path:
        return tree.id
    try:
        return tree[path].id
    except _LOOKUP_ERRORS:
        return None


def _decode(raw: bytes) -> str:
    # Pushed commits may carry any bytes; never fail a listing over a bad encoding.
    return raw.decode("utf-8", errors="replace")


def _commit_info(commit: pygit2.Commit) -> CommitInfo:
    message = _decode(commit.raw_message).rstrip()
    author = commit.author
    return CommitInfo(
        sha=str(commit.id),
        title=message.split("\n", 1)[0].strip(),
        message=message,
        author_name=_decode(author.raw_name),
        author_email=_decode(author.raw_email),
        date=datetime.fromtimestamp(author.time, tz=UTC),
        parents=[str(p) for p in commit.parent_ids],
    )
