"""HF JSON shapes of repository info, list items, tree entries, commits and refs.

The only module that knows these shapes (HF_PROTOCOL.md §3.6, §3.7, §4.1, §4.3, §4.4); views
and the write API call these functions. Keys the client requires are always present; Xet
`xetHash` is emitted only for files registered in the Xet CAS for the repository (the caller
passes it): hf_xet clients download those from the CAS, everything else over plain HTTP.
"""
from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any

from hub.http.dates import hf_date
from hub.http.urls import public_url
from repos.git.repository import CommitInfo
from repos.models import Repository, RepoType
from repos.models.repository import URL_PREFIX
from repos.selectors.files import RepoEntry
from repos.selectors.refs import RefListing
from repos.selectors.repo_info import RevisionCard

# Always returned with `expand`, whatever was asked for (the client needs `id`).
_ALWAYS = ("id", "_id")


def repo_object_id(repo: Repository) -> str:
    """HF's `_id` is a 24-hex object id; ours is derived from the primary key (stable, and
    it says nothing about where the repository is stored)."""
    return f"{repo.pk:024x}"


def _gated(repo: Repository) -> bool | str:
    return repo.gated or False


def _base_fields(repo: Repository, card: RevisionCard) -> dict[str, Any]:
    data: dict[str, Any] = {"_id": repo_object_id(repo), "id": repo.repo_id}
    if repo.repo_type == RepoType.MODEL:
        data["modelId"] = repo.repo_id
    data.update({
        "author": repo.namespace,
        "lastModified": hf_date(repo.last_modified),
        "createdAt": hf_date(repo.created_at),
        "private": repo.private,
        "gated": _gated(repo),
        "disabled": repo.disabled,
        "downloads": repo.downloads,
        "likes": repo.likes,
        "tags": list(card.tags),
    })
    if repo.repo_type != RepoType.DATASET:
        data["pipeline_tag"] = card.pipeline_tag or None
        data["library_name"] = card.library_name or None
    return data


def serialize_sibling(entry: RepoEntry, *, blobs: bool = False) -> dict[str, Any]:
    """One `siblings[]` item; with `blobs`, sizes and ids (note `lfs.sha256`, not `oid`)."""
    item: dict[str, Any] = {"rfilename": entry.path}
    if blobs:
        item["size"] = entry.size
        item["blobId"] = entry.oid
        if entry.lfs is not None:
            item["lfs"] = {"sha256": entry.lfs.oid, "size": entry.lfs.size, "pointerSize": entry.pointer_size}
    return item


def serialize_repo_info(
    repo: Repository,
    *,
    sha: str | None,
    files: Iterable[RepoEntry] | None = None,
    blobs: bool = False,
    expand: Iterable[str] | None = None,
    card: RevisionCard | None = None,
    security_status: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """`GET /api/{type}s/{id}[/revision/{rev}]`. `files` become `siblings` (None omits them);
    `security_status` is `securityRepoStatus` (`securityStatus=true`);
    `card` is the revision's card (default: the database index); a non-empty `expand` keeps
    only the listed properties (plus `id`), as the Hub does."""
    card = card or RevisionCard.of_repo(repo)
    data = _base_fields(repo, card)
    data["sha"] = sha
    data["cardData"] = card.card_data
    if files is not None:
        data["siblings"] = [serialize_sibling(e, blobs=blobs) for e in files]
    data["spaces"] = []
    data["usedStorage"] = repo.used_storage
    if repo.safetensors:
        data["safetensors"] = repo.safetensors
    if security_status is not None:
        data["securityRepoStatus"] = dict(security_status)
    return _only(data, expand)


def serialize_repo_list_item(
    repo: Repository,
    *,
    full: bool = False,
    card_data: bool = False,
    expand: Iterable[str] | None = None,
    sibling_paths: Iterable[str] | None = None,
) -> dict[str, Any]:
    """One item of `GET /api/models|datasets|spaces`; `sibling_paths` (read from git only for
    `full=true`) become `siblings`."""
    data = _base_fields(repo, RevisionCard.of_repo(repo))
    if sibling_paths is not None:
        data["siblings"] = [{"rfilename": path} for path in sibling_paths]
    if full or expand:
        data["sha"] = repo.head_sha or None
        data["usedStorage"] = repo.used_storage
        if repo.safetensors:
            data["safetensors"] = repo.safetensors
    if full or card_data or expand:
        data["cardData"] = repo.card_data or {}
    return _only(data, expand)


def _only(data: dict[str, Any], expand: Iterable[str] | None) -> dict[str, Any]:
    wanted = set(expand or ())
    if not wanted:
        return data
    return {k: v for k, v in data.items() if k in wanted or k in _ALWAYS}


def serialize_tree_entry(entry: RepoEntry, *, xet_hashes: Mapping[str, str] | None = None,
                         security: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """One `tree` / `paths-info` item (§4.1): `size` is the content size, `lfs.oid` the
    sha256; `xetHash` when `xet_hashes` ({sha256: Xet file hash}) knows the object;
    `lastCommit` only when it was looked up (`expand=true`); `securityFileStatus` when
    `security` ({path: status}, `expand=true`) has the file."""
    if entry.type == "directory":
        item: dict[str, Any] = {"type": "directory", "oid": entry.oid, "size": 0, "path": entry.path}
    else:
        item = {"type": "file", "oid": entry.oid, "size": entry.size, "path": entry.path}
        if entry.lfs is not None:
            item["lfs"] = {"oid": entry.lfs.oid, "size": entry.lfs.size, "pointerSize": entry.pointer_size}
            if xet_hashes and entry.lfs.oid in xet_hashes:
                item["xetHash"] = xet_hashes[entry.lfs.oid]
    if entry.last_commit is not None:
        c = entry.last_commit
        item["lastCommit"] = {"id": c.sha, "title": c.title, "date": hf_date(c.date)}
    if security and entry.path in security and entry.type == "file":
        item["securityFileStatus"] = dict(security[entry.path])
    return item


def serialize_commit(commit: CommitInfo, *, usernames: Mapping[str, str], formatted: bool = False) -> dict[str, Any]:
    """One `commits` item (§4.4). `usernames` maps author emails (lowercase) to hub users;
    other authors are shown by their git name."""
    user = usernames.get(commit.author_email.lower()) or commit.author_name
    body = commit.message.split("\n", 1)[1].lstrip("\n") if "\n" in commit.message else ""
    item: dict[str, Any] = {
        "id": commit.sha,
        "title": commit.title,
        "message": body,
        "authors": [{"user": user}],
        "date": hf_date(commit.date),
    }
    if formatted:
        item["formatted"] = {"title": html.escape(commit.title), "message": html.escape(body)}
    return item


def serialize_refs(listing: RefListing) -> dict[str, Any]:
    """`GET .../refs` (§4.3): `converts` is required by the client even when empty."""
    data: dict[str, Any] = {
        "branches": [{"name": n, "ref": f"refs/heads/{n}", "targetCommit": s} for n, s in listing.branches.items()],
        "converts": [],
        "tags": [{"name": n, "ref": f"refs/tags/{n}", "targetCommit": s} for n, s in listing.tags.items()],
    }
    if listing.pull_requests is not None:
        data["pullRequests"] = [{"name": ref, "ref": ref, "targetCommit": s}
                                for ref, s in listing.pull_requests.items()]
    return data


def repo_url(repo: Repository) -> str:
    """The repository's page on the public URL (HF's `url` fields)."""
    return public_url(repo.url_path)


def repo_url_for(repo_type: str, namespace: str, name: str) -> str:
    """`repo_url` of a repository known only by its id (it may not exist)."""
    return public_url(f"{URL_PREFIX[RepoType(repo_type)]}{namespace}/{name}")
