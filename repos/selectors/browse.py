"""Reads behind the file pages (tree, file view, refs): selectors for the HTML surface.

Typed, keyword-only functions over the git layer's API. They return plain values with URLs
already built, so views stay parse -> authorize -> call -> render.
"""
from __future__ import annotations

import html as htmllib
import posixpath
import re
from dataclasses import dataclass, field
from typing import Literal

from django.utils.safestring import SafeString, mark_safe

from repos import objects
from repos.cards import render_markdown, split_front_matter
from repos.git.repository import CommitInfo, GitRepo, TreeEntry
from repos.highlight import highlight
from repos.lfs.errors import LfsObjectNotFound
from repos.lfs.pointer import LfsPointer
from repos.links import RepoLinks, human_count
from repos.models import Repository
from repos.policy.upload import looks_binary
from repos.selectors.files import lfs_pointer_of
from repos.weights.safetensors_header import SafetensorsError, read_header
from repos.weights.tensor_tree import TreeRow as TensorTreeRow
from repos.weights.tensor_tree import build_tree
from repos.weights.tensor_tree import rows as tensor_tree_rows

MAX_DISPLAY_BYTES = 1024 * 1024  # "too large to display" above this
MAX_TREE_ENTRIES = 1000
MAX_TENSOR_ROWS = 5000
# Commits walked to find each entry's last commit; past that the column stays empty
# rather than making a big folder of an old repository slow.
LAST_COMMIT_WALK = 300
IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".ico", ".avif"}
MARKDOWN_EXTENSIONS = {".md", ".markdown"}

FileKind = Literal["text", "markdown", "image", "lfs", "binary", "too_large", "safetensors", "empty", "gated"]


# ----------------------------------------------------------------------------- refs


def ref_choices(*, git: GitRepo, links: RepoLinks, current: str, path: str = "",
                view: str = "tree") -> dict[str, list[dict[str, object]]]:
    """Branches and tags for the revision switcher, each linking to the same path."""
    def url(rev: str) -> str:
        if view == "commits":
            return links.commits(rev, path)
        return links.blob(rev, path) if view == "blob" else links.tree(rev, path)

    return {
        kind: [{"name": name, "url": url(name), "current": name == current} for name in names]
        for kind, names in (("branches", sorted(git.branches())), ("tags", sorted(git.tags())))
    }


# ----------------------------------------------------------------------------- tree


@dataclass
class TreeRow:
    name: str
    path: str
    type: str
    size: int
    is_lfs: bool
    url: str
    commit: CommitInfo | None = None
    commit_url: str = ""
    oid: str = ""  # content id: the LFS sha256, or the git blob id
    security: str = ""  # the scan status ("safe", "unsafe", "queued", ...); "" when no scanner reports


def _pointer_of(git: GitRepo, entry: TreeEntry) -> LfsPointer | None:
    return lfs_pointer_of(git, entry)


def tree_rows(*, git: GitRepo, links: RepoLinks, sha: str, rev: str, path: str
              ) -> tuple[list[TreeRow], int]:
    """Entries of folder `path` at `sha`: folders first, then files, each alphabetical.

    Returns (rows, total) where rows holds at most MAX_TREE_ENTRIES. LFS pointers show the
    size of the object they stand for. Last commits are best effort (bounded walk).
    """
    entries = git.list_tree(sha, path)
    entries.sort(key=lambda e: (e.type != "directory", e.path.lower()))
    total = len(entries)
    entries = entries[:MAX_TREE_ENTRIES]
    rows: list[TreeRow] = []
    for entry in entries:
        pointer = _pointer_of(git, entry)
        rows.append(TreeRow(
            name=posixpath.basename(entry.path),
            path=entry.path,
            type=entry.type,
            size=pointer.size if pointer else entry.size,
            is_lfs=pointer is not None,
            url=links.tree(rev, entry.path) if entry.type == "directory" else links.blob(rev, entry.path),
            oid=pointer.oid if pointer else entry.oid,
        ))
    last = git.last_commit_for_paths(sha, [r.path for r in rows], max_commits=LAST_COMMIT_WALK)
    for row in rows:
        row.commit = last.get(row.path)
        if row.commit is not None:
            row.commit_url = links.commit(row.commit.sha)
    return rows, total


def latest_commit(*, git: GitRepo, sha: str, path: str = "") -> CommitInfo | None:
    commits = git.log(sha, path=path or None, limit=1)
    return commits[0] if commits else None


# ----------------------------------------------------------------------------- file view


@dataclass
class FileView:
    kind: FileKind
    size: int
    is_lfs: bool = False
    lfs_oid: str = ""
    html: SafeString | str = ""
    metadata_html: SafeString | str = ""
    lines: int = 0
    editable: bool = False
    error: str = ""
    tensor_count: int = 0
    tensors_shown: int = 0
    tensor_tree: list[TensorTreeRow] = field(default_factory=list)
    parameter_counts: list[tuple[str, int]] = field(default_factory=list)
    total_parameters: int = 0
    total_parameters_display: str = ""
    tensor_bytes: int = 0
    metadata: dict[str, str] = field(default_factory=dict)


def _ext(path: str) -> str:
    return posixpath.splitext(path)[1].lower()


def _read_lfs_prefix(repo: Repository, oid: str, limit: int) -> bytes:
    with objects.open_object(repo=repo, oid=oid) as f:
        return f.read(limit)


_URL_ATTR_RE = re.compile(r'(<(?:a|img)\b[^>]*?\s)(href|src)="([^"]*)"')
_ABSOLUTE_RE = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|/|#|\?)")


def rewrite_relative_urls(html: str, *, links: RepoLinks, rev: str, folder: str) -> str:
    """Make a rendered Markdown file's relative links point into the repository, as they do
    on the Hub: images to the raw file (`/resolve/`), links to the file page (`/blob/`).

    Runs on the sanitizer's output, whose attributes are always double-quoted and escaped,
    so a regular expression over them is exact; the result is escaped again.
    """
    def repl(m: re.Match[str]) -> str:
        prefix, attr, value = m.group(1), m.group(2), htmllib.unescape(m.group(3))
        if not value or _ABSOLUTE_RE.match(value):
            return m.group(0)
        target, _, fragment = value.partition("#")
        target = target.split("?", 1)[0]
        joined = posixpath.normpath(posixpath.join(folder, target)) if target else folder
        if joined.startswith("..") or joined in ("", "."):
            return m.group(0)
        url = links.resolve(rev, joined) if attr == "src" else links.blob(rev, joined)
        url += f"#{fragment}" if fragment else ""
        return f'{prefix}{attr}="{htmllib.escape(url, quote=True)}"'

    return _URL_ATTR_RE.sub(repl, html)


def _text_view(path: str, data: bytes, *, is_lfs: bool, markdown: bool, links: RepoLinks, rev: str) -> FileView:
    text = data.decode("utf-8", errors="replace")
    lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    view = FileView(kind="text", size=len(data), is_lfs=is_lfs, lines=lines, editable=not is_lfs)
    if markdown:
        meta, body, _error = split_front_matter(text)
        view.kind = "markdown"
        rendered = rewrite_relative_urls(render_markdown(body), links=links, rev=rev, folder=posixpath.dirname(path))
        view.html = mark_safe(rendered)  # noqa: S308 - sanitized by repos.cards, URLs re-escaped
        if meta is not None or _error:
            front = text[: len(text) - len(body)]
            view.metadata_html = mark_safe(highlight(front, "card.yaml"))  # noqa: S308 - pygments escapes
    else:
        view.html = mark_safe(highlight(text, path))  # noqa: S308 - pygments escapes
    return view


def _safetensors_view(view: FileView, repo: Repository, oid: str, size: int) -> FileView:
    view.kind = "safetensors"
    try:
        with objects.open_object(repo=repo, oid=oid) as f:
            header = read_header(f, size)  # reads only the header: 8 + n bytes
    except (SafetensorsError, LfsObjectNotFound, OSError) as exc:
        view.error = f"Could not read the safetensors header: {exc}"
        return view
    # One tree carries every number on the page: the totals at the top are its root's, each
    # group's are the sums of its tensors', so they always agree.
    tree = build_tree(header.tensors)
    flat = tensor_tree_rows(tree, max_tensors=MAX_TENSOR_ROWS)
    view.tensor_count = tree.tensor_count
    view.tensors_shown = flat.tensors_shown
    view.tensor_tree = flat.rows
    view.metadata = dict(sorted(header.metadata.items()))
    view.parameter_counts = sorted(tree.dtypes.items(), key=lambda kv: (-kv[1], kv[0]))
    view.total_parameters = tree.parameters
    view.total_parameters_display = human_count(tree.parameters)
    view.tensor_bytes = tree.nbytes
    return view


def file_view(*, repo: Repository, git: GitRepo, entry: TreeEntry, links: RepoLinks, rev: str,
              code: bool = False) -> FileView:
    """How to show the file `entry`: highlighted text, rendered Markdown, an image, a tensor
    table for safetensors, or only its size and a download link. Never reads more than
    MAX_DISPLAY_BYTES (or a safetensors header) of a file.

    `code=True` shows Markdown as highlighted source instead of rendering it.
    """
    ext = _ext(entry.path)
    pointer = _pointer_of(git, entry)
    if pointer is not None:
        view = FileView(kind="lfs", size=pointer.size, is_lfs=True, lfs_oid=pointer.oid)
        # Only objects uploaded to this repository are readable through it: knowing the sha256
        # of another (private) repository's file must not reveal anything about it.
        if objects.find(repo=repo, oid=pointer.oid) is None:
            view.error = "The file's content is not available on this server."
            return view
        if ext == ".safetensors":
            return _safetensors_view(view, repo, pointer.oid, pointer.size)
        if ext in IMAGE_EXTENSIONS or ext == ".svg":
            view.kind = "image"
            return view
        if 0 < pointer.size <= MAX_DISPLAY_BYTES:
            data = _read_lfs_prefix(repo, pointer.oid, MAX_DISPLAY_BYTES)
            if not looks_binary(data[:8000]):
                return _text_view(entry.path, data, is_lfs=True, markdown=ext in MARKDOWN_EXTENSIONS and not code,
                                  links=links, rev=rev)
        return view
    if entry.size == 0:
        return FileView(kind="empty", size=0, editable=True)
    if ext in IMAGE_EXTENSIONS or ext == ".svg":
        # Served from /resolve/ into an <img>: scripts inside an SVG never run there.
        return FileView(kind="image", size=entry.size)
    if entry.size > MAX_DISPLAY_BYTES:
        return FileView(kind="too_large", size=entry.size)
    data = git.read_blob(entry.oid)
    if looks_binary(data[:8000]):
        return FileView(kind="binary", size=entry.size)
    return _text_view(entry.path, data, is_lfs=False, markdown=ext in MARKDOWN_EXTENSIONS and not code,
                      links=links, rev=rev)


def gated_view(*, git: GitRepo, entry: TreeEntry) -> FileView:
    """What a reader without download rights on a gated repository sees: size, no content."""
    pointer = _pointer_of(git, entry)
    return FileView(kind="gated", size=pointer.size if pointer else entry.size, is_lfs=pointer is not None)


def editable_text(*, git: GitRepo, entry: TreeEntry) -> str | None:
    """The file's text if it can be edited in the browser (a small non-LFS text file)."""
    if entry.type != "file" or entry.size > MAX_DISPLAY_BYTES or _pointer_of(git, entry) is not None:
        return None
    data = git.read_blob(entry.oid)
    if looks_binary(data[:8000]):
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


# ----------------------------------------------------------------------------- card


@dataclass
class Card:
    exists: bool
    html: SafeString | str = ""
    error: str = ""
    too_large: bool = False


def repo_card(*, git: GitRepo, sha: str, links: RepoLinks, rev: str) -> Card:
    """The README.md at `sha`: its body rendered and sanitized (metadata is shown as chips
    from the repository's index, see `context.metadata_chips`)."""
    entry = git.get_entry(sha, "README.md")
    if entry is None or entry.type != "file":
        return Card(exists=False)
    if entry.size > MAX_DISPLAY_BYTES or _pointer_of(git, entry) is not None:
        return Card(exists=True, too_large=True)
    text = git.read_blob(entry.oid).decode("utf-8", errors="replace")
    _meta, body, error = split_front_matter(text)
    rendered = rewrite_relative_urls(render_markdown(body), links=links, rev=rev, folder="")
    return Card(exists=True, html=mark_safe(rendered),  # noqa: S308 - sanitized, URLs re-escaped
                error=error or "")
