"""`config.json` files and model-card front matter compared key by key: a reviewer sees
"num_hidden_layers: 12 -> 24" instead of a text diff of a reformatted JSON file.

Untrusted input: files over MAX_BYTES are skipped, JSON is parsed with the bounded parser of
`repos.weights`, YAML through `repos.cards` (node budget), and at most MAX_KEYS keys are listed.
"""
from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass
from typing import Any

from repos.cards import split_front_matter
from repos.git.repository import GitRepo
from repos.selectors.files import lfs_pointer_of
from repos.weights.bounded_json import JsonRejected, loads_bounded

MAX_BYTES = 1024 * 1024
MAX_KEYS = 2000
MAX_VALUE_CHARS = 200
CARD_NAMES = ("README.md",)


@dataclass(frozen=True)
class KeyChange:
    key: str
    status: str  # added | removed | changed
    old: str
    new: str


@dataclass(frozen=True)
class StructuredChange:
    path: str
    what: str  # "config" | "card metadata"
    keys: list[KeyChange]
    truncated: bool = False


def _text(git: GitRepo, sha: str | None, path: str | None) -> str | None:
    if sha is None or path is None:
        return None
    entry = git.get_entry(sha, path)
    if entry is None or entry.type != "file" or entry.size > MAX_BYTES or lfs_pointer_of(git, entry) is not None:
        return None
    return git.read_blob(entry.oid).decode("utf-8", "replace")


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if len(out) > MAX_KEYS:
        return
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix or "(root)"] = value


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"


def _compare(old: dict[str, Any] | None, new: dict[str, Any] | None) -> tuple[list[KeyChange], bool]:
    a: dict[str, Any] = {}
    b: dict[str, Any] = {}
    _flatten(old or {}, "", a)
    _flatten(new or {}, "", b)
    changes = []
    for key in sorted(a.keys() | b.keys()):
        if key not in a:
            changes.append(KeyChange(key, "added", "", _show(b[key])))
        elif key not in b:
            changes.append(KeyChange(key, "removed", _show(a[key]), ""))
        elif a[key] != b[key]:
            changes.append(KeyChange(key, "changed", _show(a[key]), _show(b[key])))
    return changes[:MAX_KEYS], len(changes) > MAX_KEYS or len(a) > MAX_KEYS or len(b) > MAX_KEYS


def _json(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = loads_bounded(text.encode(), max_depth=32, max_items=100_000)
    except JsonRejected:
        return None
    return value if isinstance(value, dict) else None


def _front_matter(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        data, _body, _error = split_front_matter(text)
    except Exception:  # a card the index could not read: no structured view, the text diff stays
        return None
    return data if isinstance(data, dict) else None


def structured_changes(*, git: GitRepo, old_sha: str | None, new_sha: str,
                       changed: list[tuple[str, str | None, str]]) -> list[StructuredChange]:
    """Key-level changes of the config files and cards among `changed` ((path, old path, status))."""
    out = []
    for path, old_path, status in changed:
        name = posixpath.basename(path)
        if name.endswith("config.json"):
            parse, what = _json, "config"
        elif name in CARD_NAMES:
            parse, what = _front_matter, "card metadata"
        else:
            continue
        old = parse(_text(git, old_sha, old_path or path)) if status != "added" else None
        new = parse(_text(git, new_sha, path)) if status != "deleted" else None
        if old is None and new is None:
            continue
        keys, truncated = _compare(old, new)
        if keys:
            out.append(StructuredChange(path=path, what=what, keys=keys, truncated=truncated))
    return out
