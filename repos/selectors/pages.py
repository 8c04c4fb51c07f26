"""What the repository pages show, read from git in one place (the views only parse, authorize,
call one of these and render).

Every function opens the repository's read handle itself and resolves `rev[/path]` remainders
through `repos.revisions.resolve_revision_path`; git errors come out as HubErrors.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hub.exceptions import BadRequest, EntryNotFound
from repos.file_security import file_security_statuses
from repos.git import errors as git_errors
from repos.git.repository import CommitInfo, GitRepo, TreeEntry
from repos.handles import git_repo_for_read, walk_limits
from repos.links import RepoLinks
from repos.models import Repository
from repos.revisions import RevisionPath, git_errors_as_http, resolve_revision_path
from repos.selectors import browse
from repos.selectors.files import lfs_pointer_of
from repos.selectors.history import CommitRow, FileChange, commit_changes, commit_page
from repos.selectors.usage import UsagePanel, repo_usage
from repos.services.dataset_preview import PreviewView, dataset_preview
from repos.tabular.preview import preview_format


@dataclass
class DataFile:
    path: str
    url: str


@dataclass
class DatasetViewer:
    """The viewer on a dataset's page: the first data file's table, links to the others."""

    path: str
    url: str
    table: PreviewView
    others: list[DataFile] = field(default_factory=list)


@dataclass
class HomePage:
    sha: str | None  # None for a repository whose default branch has no commit
    card: browse.Card | None = None
    last_commit: CommitInfo | None = None
    usage: UsagePanel | None = None
    viewer: DatasetViewer | None = None


# Where a dataset's data files are looked for (not a recursive walk: the root and the folders
# the Hub's loaders look in), and how many are listed.
DATA_FOLDERS = ("", "data", "train", "test", "validation")
MAX_DATA_FILES = 20


def _dataset_viewer(*, repo: Repository, git: GitRepo, sha: str, links: RepoLinks) -> DatasetViewer | None:
    files: list[TreeEntry] = []
    for folder in DATA_FOLDERS:
        entry = git.get_entry(sha, folder)
        if entry is None or entry.type != "directory":
            continue
        try:
            listed = git.list_tree(sha, folder, limits=walk_limits())
        except git_errors.TreeTooLarge:
            continue
        files += [e for e in listed if e.type == "file" and preview_format(e.path)]
        if len(files) >= MAX_DATA_FILES:
            break
    if not files:
        return None
    # A training split first, as the Hub's viewer opens it; then by path.
    files.sort(key=lambda e: ("train" not in e.path.lower(), e.path))
    first = files[0]
    table = dataset_preview(repo=repo, git=git, sha=sha, entry=first)
    if table is None:
        return None
    rev = repo.default_branch
    return DatasetViewer(path=first.path, url=links.blob(rev, first.path), table=table,
                         others=[DataFile(path=e.path, url=links.blob(rev, e.path)) for e in files[1:MAX_DATA_FILES]])


def home_page(*, repo: Repository, links: RepoLinks, can_download: bool = False) -> HomePage:
    """The card page; a dataset's also shows the viewer to readers of its files."""
    git = git_repo_for_read(repo)
    try:
        sha = git.resolve(repo.default_branch)
    except git_errors.RevisionNotFound:
        return HomePage(sha=None)
    with git_errors_as_http():
        viewer = None
        if repo.repo_type == "dataset" and can_download:
            viewer = _dataset_viewer(repo=repo, git=git, sha=sha, links=links)
        return HomePage(sha=sha, card=browse.repo_card(git=git, sha=sha, links=links, rev=repo.default_branch),
                        last_commit=git.commit_info(sha), usage=repo_usage(repo=repo, git=git, sha=sha),
                        viewer=viewer)


@dataclass
class TreePage:
    at: RevisionPath
    is_file: bool = False
    rows: list[browse.TreeRow] = field(default_factory=list)
    total: int = 0
    latest: CommitInfo | None = None
    refs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    on_branch: bool = False


def tree_page(*, repo: Repository, remainder: str, links: RepoLinks) -> TreePage:
    """The folder a tree URL names (or `is_file` when it names a file); EntryNotFound if none."""
    git = git_repo_for_read(repo)
    at = resolve_revision_path(git, remainder)
    with git_errors_as_http():
        entry = git.get_entry(at.sha, at.path)
        if entry is None:
            raise EntryNotFound(f"{at.path} does not exist at {at.rev}")
        if entry.type == "file":
            return TreePage(at=at, is_file=True)
        rows, total = browse.tree_rows(git=git, links=links, sha=at.sha, rev=at.rev, path=at.path)
        security = file_security_statuses(repo, [(r.path, r.oid) for r in rows if r.type == "file"])
        for row in rows:
            row.security = security.get(row.path, {}).get("status", "")
        refs = browse.ref_choices(git=git, links=links, current=at.rev, path=at.path)
        return TreePage(at=at, rows=rows, total=total, latest=browse.latest_commit(git=git, sha=at.sha, path=at.path),
                        refs=refs, on_branch=at.rev in {r["name"] for r in refs["branches"]})


@dataclass
class BlobPage:
    at: RevisionPath
    is_dir: bool = False
    view: browse.FileView | None = None
    latest: CommitInfo | None = None
    refs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    on_branch: bool = False
    # The file's `securityFileStatus` (None when no scanner reports), for the badge and imports.
    security: dict[str, Any] | None = None
    table: PreviewView | None = None  # the dataset viewer, for CSV/JSONL/Parquet files


def blob_page(*, repo: Repository, remainder: str, links: RepoLinks, can_download: bool, code: bool) -> BlobPage:
    """The file a blob URL names (or `is_dir` when it names a folder); readers without download
    rights on a gated repository see its size, not its content. Data files (CSV, JSONL,
    Parquet) come with the dataset viewer's table unless `code` asks for the text."""
    git = git_repo_for_read(repo)
    at = resolve_revision_path(git, remainder)
    with git_errors_as_http():
        entry = git.get_entry(at.sha, at.path) if at.path else None
        if entry is None:
            raise EntryNotFound(f"{at.path or '(empty path)'} does not exist at {at.rev}")
        if entry.type == "directory":
            return BlobPage(at=at, is_dir=True)
        table = None
        if can_download:
            view = browse.file_view(repo=repo, git=git, entry=entry, links=links, rev=at.rev, code=code)
            if not code and view.kind not in ("empty",) and not view.error:
                table = dataset_preview(repo=repo, git=git, sha=at.sha, entry=entry)
        else:
            view = browse.gated_view(git=git, entry=entry)
        refs = browse.ref_choices(git=git, links=links, current=at.rev, path=at.path, view="blob")
        pointer = lfs_pointer_of(git, entry)
        content_oid = pointer.oid if pointer is not None else entry.oid
        security = file_security_statuses(repo, [(at.path, content_oid)]).get(at.path)
        return BlobPage(at=at, view=view, latest=browse.latest_commit(git=git, sha=at.sha, path=at.path), refs=refs,
                        on_branch=at.rev in {r["name"] for r in refs["branches"]}, security=security, table=table)


@dataclass
class CommitsPage:
    at: RevisionPath
    rows: list[CommitRow]
    has_next: bool
    refs: dict[str, list[dict[str, Any]]]


def commits_page(*, repo: Repository, remainder: str, links: RepoLinks, page: int) -> CommitsPage:
    git = git_repo_for_read(repo)
    at = resolve_revision_path(git, remainder)
    with git_errors_as_http():
        rows, has_next = commit_page(git=git, links=links, sha=at.sha, path=at.path, page=page)
        refs = browse.ref_choices(git=git, links=links, current=at.rev, path=at.path, view="commits")
    return CommitsPage(at=at, rows=rows, has_next=has_next, refs=refs)


@dataclass
class CommitPage:
    sha: str
    info: CommitInfo
    changes: list[FileChange]
    hidden: int
    too_large: bool = False  # more paths changed than a diff is computed for


def commit_detail(*, repo: Repository, rev: str) -> CommitPage:
    git = git_repo_for_read(repo)
    with git_errors_as_http():
        sha = git.resolve(rev)
        info = git.commit_info(sha)
        try:
            changes, hidden = commit_changes(git=git, info=info)
        except git_errors.TreeTooLarge:
            return CommitPage(sha=sha, info=info, changes=[], hidden=0, too_large=True)
    return CommitPage(sha=sha, info=info, changes=changes, hidden=hidden)


# ----------------------------------------------------------------------------- write pages


def branch_target(*, repo: Repository, remainder: str) -> RevisionPath:
    """The branch, folder-or-path and head of a write URL; only branches take commits (400)."""
    git = git_repo_for_read(repo)
    at = resolve_revision_path(git, remainder)
    if at.rev not in git.branches():
        raise BadRequest(f"{at.rev!r} is not a branch: files can only be committed to a branch")
    return at


def editable_file(*, repo: Repository, at: RevisionPath) -> str:
    """The text of the file at `at` if the browser editor may edit it; EntryNotFound or 400."""
    git = git_repo_for_read(repo)
    with git_errors_as_http():
        entry = git.get_entry(at.sha, at.path) if at.path else None
        if entry is None or entry.type != "file":
            raise EntryNotFound(f"{at.path} does not exist on {at.rev}")
        text = browse.editable_text(git=git, entry=entry)
    if text is None:
        raise BadRequest("This file cannot be edited in the browser (binary, LFS or larger than 1 MB)")
    return text


def path_exists(*, repo: Repository, sha: str, path: str) -> bool:
    git = git_repo_for_read(repo)
    with git_errors_as_http():
        return git.get_entry(sha, path) is not None


@dataclass
class PathTarget:
    """A file or folder a delete or rename page acts on; `files` counts a folder's files (up to
    FOLDER_COUNT_LIMIT, `more` past it)."""

    at: RevisionPath
    type: str
    files: int = 0
    more: bool = False


FOLDER_COUNT_LIMIT = 10_000


def path_target(*, repo: Repository, at: RevisionPath) -> PathTarget:
    """The existing file or folder a write URL names (EntryNotFound; 400 for the root)."""
    if not at.path:
        raise BadRequest("Name a file or folder: the repository's root cannot be deleted or renamed")
    git = git_repo_for_read(repo)
    with git_errors_as_http():
        entry = git.get_entry(at.sha, at.path)
        if entry is None:
            raise EntryNotFound(f"{at.path} does not exist on {at.rev}")
        if entry.type == "file":
            return PathTarget(at=at, type="file")
        count = 0
        try:
            for _ in git.walk(at.sha, at.path, files_only=True, limits=walk_limits()):
                count += 1
                if count >= FOLDER_COUNT_LIMIT:
                    return PathTarget(at=at, type="directory", files=count, more=True)
        except git_errors.TreeTooLarge:
            return PathTarget(at=at, type="directory", files=count, more=True)
    return PathTarget(at=at, type="directory", files=count)


@dataclass
class RefRow:
    name: str
    sha: str
    url: str
    delete_url: str
    commit: CommitInfo | None = None
    commit_url: str = ""
    default: bool = False


@dataclass
class RefsPage:
    branches: list[RefRow]
    tags: list[RefRow]
    truncated: bool = False


MAX_REFS_LISTED = 300


def refs_page(*, repo: Repository, links: RepoLinks) -> RefsPage:
    """Branches (the default first) and tags with their last commit, at most MAX_REFS_LISTED
    of each (one commit read per ref)."""
    git = git_repo_for_read(repo)
    with git_errors_as_http():
        branches, tags = git.branches(), git.tags()

        def rows(kind: str, refs: dict[str, str], first: str | None = None) -> list[RefRow]:
            names = sorted(refs, key=lambda n: (n != first, n))[:MAX_REFS_LISTED]
            out = []
            for name in names:
                try:
                    info: CommitInfo | None = git.commit_info(refs[name])
                except (git_errors.GitError, KeyError, ValueError):
                    info = None  # a tag of something that is not a commit
                out.append(RefRow(name=name, sha=refs[name], url=links.tree(name),
                                  delete_url=links.ref_delete(kind, name), commit=info,
                                  commit_url=links.commit(info.sha) if info else "", default=name == first))
            return out

        return RefsPage(branches=rows("branch", branches, repo.default_branch), tags=rows("tag", tags),
                        truncated=max(len(branches), len(tags)) > MAX_REFS_LISTED)
