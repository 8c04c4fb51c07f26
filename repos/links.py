"""URLs of a repository's pages: every link the UI emits is built here (and display numbers).

Pure: no Django, no I/O; selectors and views both build page data with it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

if TYPE_CHECKING:
    from repos.models import Repository


def rev_segment(rev: str) -> str:
    """A revision as one URL path segment (`refs/pr/1` -> `refs%2Fpr%2F1`), like the Hub."""
    return quote(rev, safe="")


def path_segment(path: str) -> str:
    return quote(path, safe="/")


@dataclass(frozen=True)
class RepoLinks:
    """URLs of a repository's pages; every link the UI emits is built here."""

    repo: Repository

    @property
    def base(self) -> str:
        return "/" + self.repo.url_path

    def tree(self, rev: str, path: str = "") -> str:
        url = f"{self.base}/tree/{rev_segment(rev)}"
        return f"{url}/{path_segment(path)}" if path else url

    def blob(self, rev: str, path: str) -> str:
        return f"{self.base}/blob/{rev_segment(rev)}/{path_segment(path)}"

    def resolve(self, rev: str, path: str, *, download: bool = False) -> str:
        url = f"{self.base}/resolve/{rev_segment(rev)}/{path_segment(path)}"
        return url + "?download=true" if download else url

    def commits(self, rev: str, path: str = "", page: int = 0) -> str:
        url = f"{self.base}/commits/{rev_segment(rev)}"
        if path:
            url += f"/{path_segment(path)}"
        return f"{url}?{urlencode({'p': page})}" if page else url

    def commit(self, sha: str) -> str:
        return f"{self.base}/commit/{sha}"

    def edit(self, rev: str, path: str) -> str:
        return f"{self.base}/edit/{rev_segment(rev)}/{path_segment(path)}"

    def upload(self, rev: str, folder: str = "") -> str:
        url = f"{self.base}/upload/{rev_segment(rev)}"
        return f"{url}/{path_segment(folder)}" if folder else url

    def new_file(self, rev: str, folder: str = "") -> str:
        url = f"{self.base}/new-file/{rev_segment(rev)}"
        return f"{url}/{path_segment(folder)}" if folder else url

    def delete(self, rev: str, path: str) -> str:
        """The page that deletes the file or folder `path` (a confirmation, then a commit)."""
        return f"{self.base}/delete/{rev_segment(rev)}/{path_segment(path)}"

    def rename(self, rev: str, path: str) -> str:
        return f"{self.base}/rename/{rev_segment(rev)}/{path_segment(path)}"

    def refs(self) -> str:
        """Branches and tags: the list, and the forms that create and delete them."""
        return f"{self.base}/refs"

    def ref_delete(self, kind: str, name: str) -> str:
        return f"{self.base}/refs/delete?{urlencode({'kind': kind, 'name': name})}"

    def discussions(self) -> str:
        return f"{self.base}/discussions"

    def discussion(self, num: int, action: str = "") -> str:
        url = f"{self.base}/discussions/{num}"
        return f"{url}/{action}" if action else url

    def pull_request_files(self, num: int) -> str:
        return f"{self.base}/discussions/{num}/files"

    def new_discussion(self) -> str:
        return f"{self.base}/discussions/new"

    def compare(self, old: str, new: str) -> str:
        return f"{self.base}/compare/{rev_segment(old)}...{rev_segment(new)}"

    def watch(self) -> str:
        return f"{self.base}/watch"

    def like(self) -> str:
        return f"{self.base}/like"


def human_count(n: int) -> str:
    """1234 -> "1.23K", 124_439_808 -> "124M": parameter counts as the Hub shows them."""
    for factor, suffix in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if n >= factor:
            value = n / factor
            text = f"{value:.3g}" if value < 1000 else f"{value:.0f}"
            return f"{text}{suffix}"
    return str(n)


def breadcrumbs(links: RepoLinks, rev: str, path: str) -> list[dict[str, str]]:
    """[{name, url}] from the repository root to `path`; the last one is the current page."""
    crumbs = [{"name": links.repo.name, "url": links.tree(rev)}]
    parts = [p for p in path.split("/") if p]
    for i, part in enumerate(parts):
        crumbs.append({"name": part, "url": links.tree(rev, "/".join(parts[: i + 1]))})
    return crumbs
