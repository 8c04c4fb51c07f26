"""``.gitattributes``: the default files of new repositories and which paths are LFS-tracked.

Only what the server needs is modelled: whether the ``filter`` attribute of a path is ``lfs``
according to the repository's root ``.gitattributes``. Nested ``.gitattributes`` files and
``[attr]`` macros (none of which can set ``filter``) are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from repos.git.wildmatch import wildmatch

LFS_ATTRIBUTES = "filter=lfs diff=lfs merge=lfs -text"
_WHITESPACE_RE = re.compile(r"[ \t]+")

_MODEL_LFS_PATTERNS = [
    "*.7z", "*.arrow", "*.bin", "*.bz2", "*.ckpt", "*.ftz", "*.gz", "*.h5", "*.joblib",
    "*.lfs.*", "*.mlmodel", "*.model", "*.msgpack", "*.npy", "*.npz", "*.onnx", "*.ot",
    "*.parquet", "*.pb", "*.pickle", "*.pkl", "*.pt", "*.pth", "*.rar", "*.safetensors",
    "saved_model/**/*", "*.tar.*", "*.tar", "*.tflite", "*.tgz", "*.wasm", "*.xz", "*.zip",
    "*.zst", "*tfevents*",
]  # fmt: skip

# Identical to the Hub's default for new model repos (HF_PROTOCOL.md Appendix A), so clones
# of our repos and of Hub repos behave the same under git-lfs.
DEFAULT_MODEL_GITATTRIBUTES = "".join(f"{p} {LFS_ATTRIBUTES}\n" for p in _MODEL_LFS_PATTERNS)


def _section(title: str, patterns: list[str]) -> str:
    return f"# {title}\n" + "".join(f"{p} {LFS_ATTRIBUTES}\n" for p in patterns)


_lfs_star = _MODEL_LFS_PATTERNS.index("*.lfs.*") + 1
# Newer Hub defaults, kept in the Hub's position (right after *.lfs.*).
_DATASET_LFS_PATTERNS = [
    *_MODEL_LFS_PATTERNS[:_lfs_star],
    "*.lz4",
    "*.mds",
    *_MODEL_LFS_PATTERNS[_lfs_star:],
]

# The model defaults plus the media sections the Hub adds to new dataset repos: datasets
# routinely hold many mid-sized binary files that git itself handles badly.
DEFAULT_DATASET_GITATTRIBUTES = (
    "".join(f"{p} {LFS_ATTRIBUTES}\n" for p in _DATASET_LFS_PATTERNS)
    + _section("Audio files - uncompressed", ["*.pcm", "*.sam", "*.raw"])
    + _section("Audio files - compressed", ["*.aac", "*.flac", "*.mp3", "*.ogg", "*.wav"])
    + _section("Image files - uncompressed", ["*.bmp", "*.gif", "*.png", "*.tiff"])
    + _section("Image files - compressed", ["*.jpg", "*.jpeg", "*.webp"])
    + _section("Video files - compressed", ["*.mp4", "*.webm"])
)


def default_gitattributes(repo_type: str) -> str:
    return DEFAULT_DATASET_GITATTRIBUTES if repo_type == "dataset" else DEFAULT_MODEL_GITATTRIBUTES


def lfs_patterns(gitattributes_text: str) -> list[str]:
    """Patterns of lines that set or clear the LFS filter, in file order.

    A line that sets ``filter=lfs`` yields its pattern; a line that later unsets or changes
    ``filter`` for a pattern (``-filter``, ``!filter``, ``filter=other``) yields the pattern
    prefixed with ``!``. gitattributes forbids ``!`` at the start of a pattern, so the marker
    is unambiguous; ``matches_lfs`` applies git's last-match-wins rule over the list.
    """
    out: list[str] = []
    for raw in gitattributes_text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or line.startswith("[attr]"):
            continue
        parsed = _split_line(line)
        if parsed is None:
            continue
        pattern, attrs = parsed
        if pattern.startswith("!"):
            continue  # git ignores negative patterns in attribute files (with a warning)
        state: bool | None = None
        for attr in attrs:
            if attr == "filter=lfs":
                state = True
            elif attr in ("-filter", "!filter", "filter") or attr.startswith("filter="):
                state = False
        if state is True:
            out.append(pattern)
        elif state is False:
            out.append("!" + pattern)
    return out


def matches_lfs(path: str, patterns: Sequence[str]) -> bool:
    """Whether ``path`` (repo-relative, ``/``-separated) is LFS-tracked by ``patterns`` as
    returned by ``lfs_patterns`` (the last matching entry decides, as in git)."""
    path = path.lstrip("/")
    basename = path.rsplit("/", 1)[-1]
    result = False
    for entry in patterns:
        negated = entry.startswith("!")
        pattern = entry[1:] if negated else entry
        if _attr_pattern_matches(pattern, path, basename):
            result = not negated
    return result


def _attr_pattern_matches(pattern: str, path: str, basename: str) -> bool:
    if pattern.endswith("/"):
        # In attribute files a directory pattern matches the directory only, never the
        # files inside it (git documents "use path/** instead"); we only ask about files.
        return False
    if pattern.startswith("/"):
        return wildmatch(pattern[1:], path)
    if "/" in pattern:
        return wildmatch(pattern, path)
    return wildmatch(pattern, basename)


def add_lfs_rule(text: str, path: str) -> str:
    """``text`` with a rule tracking exactly ``path`` appended, as the Hub does when a commit
    adds an LFS file that no existing rule covers (so that ``git clone`` smudges it).
    Returns ``text`` unchanged if ``path`` is already tracked."""
    if matches_lfs(path, lfs_patterns(text)):
        return text
    if text and not text.endswith("\n"):
        text += "\n"
    return f"{text}{escape_pattern(path)} {LFS_ATTRIBUTES}\n"


def escape_pattern(path: str) -> str:
    """A gitattributes pattern matching the literal ``path`` and nothing else with that
    spelling (it still matches the same name in subdirectories if ``path`` has no ``/``,
    which is git's rule for slash-less patterns and what the Hub writes)."""
    if any(c in path for c in "\n\r\0"):
        raise ValueError("a path with a line break or NUL cannot be written to .gitattributes")
    out: list[str] = []
    for c in path.lstrip("/"):
        if c in "*?[]\\":
            out.append("\\" + c)
        elif c.isspace():
            # Whitespace separates pattern and attributes; git-lfs writes [[:space:]] too.
            out.append("[[:space:]]")
        else:
            out.append(c)
    escaped = "".join(out)
    if escaped[:1] in ("#", "!", '"'):
        escaped = "\\" + escaped
    return escaped


def _split_line(line: str) -> tuple[str, list[str]] | None:
    if line.startswith('"'):
        unquoted = _unquote_c_style(line)
        if unquoted is None:
            return None
        pattern, rest = unquoted
        return pattern, rest.split()
    parts: list[str] = _WHITESPACE_RE.split(line, maxsplit=1)
    return parts[0], parts[1].split() if len(parts) > 1 else []


_C_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def _unquote_c_style(line: str) -> tuple[str, str] | None:
    """Parse a leading ``"..."`` (git's C-style quoting); return (pattern, remainder)."""
    out: list[str] = []
    i = 1
    while i < len(line):
        c = line[i]
        if c == '"':
            return "".join(out), line[i + 1 :]
        if c == "\\" and i + 1 < len(line):
            nxt = line[i + 1]
            if nxt in _C_ESCAPES:
                out.append(_C_ESCAPES[nxt])
                i += 2
                continue
            if nxt in "01234567" and i + 3 < len(line):
                # Octal escapes encode UTF-8 bytes one by one; collect then decode.
                raw = bytearray()
                while i + 3 < len(line) and line[i] == "\\" and line[i + 1] in "0123":
                    raw.append(int(line[i + 1 : i + 4], 8))
                    i += 4
                out.append(raw.decode("utf-8", errors="replace"))
                continue
            # Inside quotes a backslash before anything else is kept: wildmatch escapes
            # (\* and friends) must survive unquoting.
            out.append(nxt if nxt in '"\\' else "\\" + nxt)
            i += 2
            continue
        out.append(c)
        i += 1
    return None
