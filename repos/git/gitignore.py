"""``.gitignore`` matching for preupload's ``shouldIgnore`` (HF_PROTOCOL.md 6.2).

Implements git's rules for one ignore file at the repository root: ``#`` comments, trailing
whitespace, ``!`` negation (last match wins), ``dir/`` patterns that match directories only,
patterns containing a ``/`` anchored at the root, others matching at any depth, and ``**``.
As in git, a file cannot be re-included when one of its parent directories is excluded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from repos.git.wildmatch import compile_pattern


@dataclass(frozen=True, slots=True)
class _Rule:
    regex: re.Pattern[str]
    negated: bool
    dir_only: bool
    anchored: bool  # match against the full path; otherwise against the last component

    def matches(self, path: str, is_dir: bool) -> bool:
        if self.dir_only and not is_dir:
            return False
        target = path if self.anchored else path.rsplit("/", 1)[-1]
        return self.regex.fullmatch(target) is not None


# Trailing spaces are dropped unless the last one is backslash-escaped.
_TRAILING_SPACE_RE = re.compile(r"(?<!\\)[ ]+$")


def _parse_rule(raw: str) -> _Rule | None:
    line = raw.rstrip("\r")
    if not line or line.startswith("#"):
        return None
    line = _TRAILING_SPACE_RE.sub("", line)
    negated = line.startswith("!")
    if negated:
        line = line[1:]
    elif line.startswith(("\\!", "\\#")):
        line = line[1:]
    dir_only = line.endswith("/")
    line = line.rstrip("/")
    if not line:
        return None
    # A slash at the start or in the middle anchors the pattern to the root.
    anchored = "/" in line
    line = line.lstrip("/")
    if not line:
        return None
    return _Rule(compile_pattern(line), negated, dir_only, anchored)


class GitIgnore:
    """Compiled rules of one ``.gitignore``; reuse it for the many paths of one preupload."""

    def __init__(self, text: str) -> None:
        self.rules = [rule for raw in text.split("\n") if (rule := _parse_rule(raw))]

    def _decide(self, path: str, is_dir: bool) -> bool:
        ignored = False
        for rule in self.rules:
            if rule.matches(path, is_dir):
                ignored = not rule.negated
        return ignored

    def is_ignored(self, path: str, *, is_dir: bool = False) -> bool:
        path = path.strip("/")
        if not path or not self.rules:
            return False
        parts = path.split("/")
        # git stops descending into an excluded directory, so nothing below it can be
        # re-included; checking each ancestor first reproduces that.
        for i in range(1, len(parts)):
            if self._decide("/".join(parts[:i]), is_dir=True):
                return True
        return self._decide(path, is_dir)


@lru_cache(maxsize=64)
def _compiled(gitignore_text: str) -> GitIgnore:
    return GitIgnore(gitignore_text)


def is_ignored(path: str, gitignore_text: str, *, is_dir: bool = False) -> bool:
    """Whether ``path`` (repo-relative, ``/``-separated) is excluded by ``gitignore_text``."""
    return _compiled(gitignore_text).is_ignored(path, is_dir=is_dir)
