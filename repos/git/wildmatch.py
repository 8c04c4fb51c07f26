"""Git's wildmatch (``WM_PATHNAME``) translated to Python regular expressions.

Shared by ``gitattributes`` and ``gitignore``, which only differ in how a pattern is anchored
and what a match means; the glob language itself is git's:

- ``*`` and ``?`` never match ``/``; ``[...]`` classes (``!``/``^`` negation, ranges,
  ``[:alpha:]``-style classes) never match ``/`` either;
- ``**`` is special only as a whole path component: ``**/x`` (x in any directory),
  ``a/**/b`` (zero or more directories between), ``a/**`` (everything inside a); elsewhere it
  acts as ``*``;
- a backslash makes the next character literal.

``pathspec`` is not a dependency, and ``fnmatch`` lets ``*`` cross ``/``, hence this module.
"""

from __future__ import annotations

import re
from functools import lru_cache

_POSIX_CLASSES = {
    "alnum": "a-zA-Z0-9",
    "alpha": "a-zA-Z",
    "blank": " \\t",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "\\x21-\\x7e",
    "lower": "a-z",
    "print": "\\x20-\\x7e",
    "punct": "!-/:-@\\[-`{-~",
    "space": " \\t\\n\\r\\f\\v",
    "upper": "A-Z",
    "xdigit": "0-9a-fA-F",
}
# A pattern git would consider malformed (e.g. an unknown [:class:]) matches nothing.
_NEVER = "(?!)"


def _class_char(c: str) -> str:
    return "\\" + c if c in "\\]^-[" else c


def _translate_bracket(pattern: str, i: int) -> tuple[str, int]:
    """Translate the class starting at ``pattern[i] == "["``; return (regex, index after it).

    Malformed classes (unterminated, unknown ``[:name:]``) make git's wildmatch abort, i.e.
    the pattern matches nothing; ``_NEVER`` reproduces that.
    """
    n = len(pattern)
    j = i + 1
    negate = j < n and pattern[j] in "!^"
    if negate:
        j += 1
    parts: list[str] = []
    malformed = False
    first = True
    while j < n:
        c = pattern[j]
        if c == "]" and not first:
            if malformed:
                return _NEVER, j + 1
            body = "".join(parts)
            if not body:
                # Only inverted ranges: nothing can match (negated: anything but "/").
                return ("[^/]" if negate else _NEVER), j + 1
            # "/" is excluded in both polarities: classes never match a separator.
            if negate:
                return f"[^/{body}]", j + 1
            return f"(?!/)[{body}]", j + 1
        first = False
        if pattern.startswith("[:", j):
            end = pattern.find(":]", j + 2)
            if end != -1:
                name = pattern[j + 2 : end]
                if name in _POSIX_CLASSES:
                    parts.append(_POSIX_CLASSES[name])
                else:
                    malformed = True
                j = end + 2
                continue
        if c == "\\" and j + 1 < n:
            j += 1
            c = pattern[j]
        if j + 2 < n and pattern[j + 1] == "-" and pattern[j + 2] != "]":
            hi_index = j + 2
            if pattern[hi_index] == "\\" and hi_index + 1 < n:
                hi_index += 1
            hi = pattern[hi_index]
            # An inverted range matches nothing, but the rest of the class still may.
            if hi >= c:
                parts.append(f"{_class_char(c)}-{_class_char(hi)}")
            j = hi_index + 1
            continue
        parts.append(_class_char(c))
        j += 1
    return _NEVER, n


def translate(pattern: str) -> str:
    """Regex source (for ``fullmatch``) equivalent to the wildmatch ``pattern``."""
    out: list[str] = []
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            j = i
            while j < n and pattern[j] == "*":
                j += 1
            at_component_start = i == 0 or pattern[i - 1] == "/"
            if j - i >= 2 and at_component_start and (j == n or pattern[j] == "/"):
                if j == n:
                    out.append(".*")  # "a/**" or a bare "**": everything below
                    i = j
                else:
                    out.append("(?:.*/)?")  # "**/": zero or more directories
                    i = j + 1
                continue
            out.append("[^/]*")
            i = j
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            regex, i = _translate_bracket(pattern, i)
            out.append(regex)
        elif c == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


@lru_cache(maxsize=4096)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(translate(pattern), re.DOTALL)


def wildmatch(pattern: str, text: str) -> bool:
    """True if the whole of ``text`` matches ``pattern`` (case-sensitive, like git's default)."""
    return compile_pattern(pattern).fullmatch(text) is not None
