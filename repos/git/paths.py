"""The only place repository names, storage paths, file paths and ref names are validated.

Everything user-controlled that ends up as a filesystem path, a tree entry or a ref name
passes through one of these functions first. They are pure string checks (no I/O) so any
layer can call them, including git hooks running outside Django.
"""
from __future__ import annotations

import re
import uuid
from pathlib import Path

from accounts.names import InvalidName, validate_name
from repos.git.errors import InvalidPath, InvalidRefName, InvalidRepoName

# --------------------------------------------------------------------------- names


def validate_repo_name(name: str) -> str:
    """Return `name` if it is an acceptable repository name, else raise InvalidRepoName. The
    rule is the one of every name on the site (`accounts.names`)."""
    try:
        return validate_name(name, "repository name")
    except InvalidName as exc:
        raise InvalidRepoName(str(exc)) from None


# --------------------------------------------------------------------------- storage

_HEX32_RE = re.compile(r"[0-9a-f]{32}")


def storage_path(root: Path, key: str) -> Path:
    """Map an opaque storage key (a UUID) to the bare repository directory under `root`.

    Repositories are stored by key, never by name, so renames and transfers do not move
    directories and no user text ever reaches the filesystem. The two-character fan-out keeps
    directories small with many repositories. Both spellings of a UUID (32 hex digits or the
    dashed form) map to the same directory.
    """
    if not isinstance(key, str):
        raise InvalidPath("Storage key must be a string")
    if not _HEX32_RE.fullmatch(key):
        try:
            # uuid.UUID also accepts braces and "urn:uuid:" prefixes; only the two common
            # spellings are accepted, compared case-insensitively.
            if len(key) != 36:
                raise ValueError(key)
            key = uuid.UUID(key).hex
        except ValueError:
            raise InvalidPath(f"Invalid storage key {key!r}: expected a UUID") from None
    return Path(root) / key[:2] / f"{key}.git"


# --------------------------------------------------------------------------- file paths

MAX_PATH_BYTES = 4096
# Most filesystems refuse longer names; clients and snapshot jobs materialize repos on disk.
MAX_COMPONENT_BYTES = 255

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")

# Code points HFS+ ignores when comparing names; git's fsck treats ".g\u200cit" as ".git"
# (is_hfs_dotgit), so we must refuse it too or `git fsck` would flag our own commits.
_HFS_IGNORABLE_RE = re.compile("[\u200c-\u200f\u202a-\u202e\u206a-\u206f\ufeff]")


def _is_dotgit(component: str) -> bool:
    """True for any spelling some filesystem would treat as `.git` (see git's fsck rules).

    Covers case variants (`.GIT`), NTFS trailing dots/spaces (`.git. `), NTFS alternate
    streams (`.git::$INDEX_ALLOCATION`), the 8.3 short name `git~1` and HFS+ ignorables.
    """
    name = _HFS_IGNORABLE_RE.sub("", component).split(":", 1)[0].rstrip(" .").lower()
    return name in (".git", "git~1")


def _normalize(path: object, *, folder: bool) -> str:
    if not isinstance(path, str):
        raise InvalidPath("Path must be a string")
    if _CONTROL_RE.search(path):
        raise InvalidPath(f"Invalid path {path!r}: control characters are not allowed")
    if "\\" in path:
        raise InvalidPath(f"Invalid path {path!r}: backslashes are not allowed")
    original = path
    # huggingface_hub strips one leading "/" and "./" from `path_in_repo`; accept the same
    # spellings so clients that do not normalize behave identically. A path that is still
    # absolute afterwards ("//etc") is refused, not silently re-rooted.
    if path.startswith("/"):
        path = path[1:]
        if path.startswith("/"):
            raise InvalidPath(f"Invalid path {original!r}: absolute paths are not allowed")
    while path.startswith("./"):
        path = path[2:]
    if path.endswith("/"):
        if not folder:
            raise InvalidPath(f"Invalid path {original!r}: a file path cannot end with '/'")
        path = path[:-1]
    if not path:
        raise InvalidPath(f"Invalid path {original!r}: the path is empty")
    try:
        encoded = path.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidPath(f"Invalid path {original!r}: not valid UTF-8") from None
    if len(encoded) > MAX_PATH_BYTES:
        raise InvalidPath(f"Invalid path: longer than {MAX_PATH_BYTES} bytes")
    for component in path.split("/"):
        if component == "":
            raise InvalidPath(f"Invalid path {original!r}: empty path component")
        if component in (".", ".."):
            raise InvalidPath(f"Invalid path {original!r}: '.' and '..' are not allowed")
        if _is_dotgit(component):
            raise InvalidPath(f"Invalid path {original!r}: '.git' is a reserved name")
        if len(component.encode("utf-8")) > MAX_COMPONENT_BYTES:
            raise InvalidPath(
                f"Invalid path {original!r}: a name is longer than {MAX_COMPONENT_BYTES} bytes"
            )
    return path


def normalize_repo_path(path: str) -> str:
    """Return the canonical form of a file path inside a repository, or raise InvalidPath.

    The result is relative, "/"-separated, with no empty, "." or ".." components and no
    component that any filesystem would treat as ".git".
    """
    return _normalize(path, folder=False)


def normalize_folder_path(path: str) -> str:
    """Like `normalize_repo_path` but a single trailing "/" is accepted (and removed).

    The repository root is not a folder path: callers that accept "the root" check for ""
    before calling this.
    """
    return _normalize(path, folder=True)


# --------------------------------------------------------------------------- ref names

# check-ref-format rule 4 and 5: no control characters, space, ~ ^ : ? * [ or backslash.
_REF_FORBIDDEN_RE = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
MAX_REF_BYTES = 1024


def validate_ref_name(full_ref: str) -> str:
    """Return `full_ref` if it is a valid full ref name (`refs/...`), else raise InvalidRefName.

    Implements `git check-ref-format` in Python (no subprocess) plus our own rules:
    the name must live under `refs/` (a "ref" like `hooks/pre-receive` or `config` would be
    a write outside the ref namespace of the git directory) and must not start with "-"
    (it could be read as an option by a git command).
    """
    if not isinstance(full_ref, str) or not full_ref:
        raise InvalidRefName("Reference name is empty")
    bad = InvalidRefName(f"Invalid reference name {full_ref!r}")
    if full_ref.startswith("-") or not full_ref.startswith("refs/"):
        raise bad
    if _REF_FORBIDDEN_RE.search(full_ref):
        raise bad
    if ".." in full_ref or "@{" in full_ref or "//" in full_ref:
        raise bad
    if full_ref.endswith("/") or full_ref.endswith(".") or full_ref == "@":
        raise bad
    try:
        encoded = full_ref.encode("utf-8")
    except UnicodeEncodeError:
        raise bad from None
    if len(encoded) > MAX_REF_BYTES:
        raise bad
    components = full_ref.split("/")
    if len(components) < 3:
        # "refs/x" is technically valid for git, but every ref we handle lives one level
        # deeper (refs/heads/, refs/tags/, refs/pr/, refs/convert/).
        raise bad
    for component in components:
        if not component or component.startswith(".") or component.endswith(".lock"):
            raise bad
        # ".lock" is appended to make the lockfile; keep that name creatable too.
        if len(component.encode("utf-8")) > MAX_COMPONENT_BYTES - len(".lock"):
            raise bad
    return full_ref


def _validate_short_ref(name: object, prefix: str, kind: str) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidRefName(f"Invalid {kind} name: empty")
    if name.startswith("refs/") or name.startswith("-") or name in ("HEAD", "@"):
        # "refs/heads/x" as a *short* name would create refs/heads/refs/heads/x; "HEAD" (and
        # "@", its git shorthand) would shadow the symbolic HEAD in rev lookups.
        raise InvalidRefName(f"Invalid {kind} name {name!r}")
    try:
        validate_ref_name(prefix + name)
    except InvalidRefName:
        raise InvalidRefName(f"Invalid {kind} name {name!r}") from None
    return name


def validate_branch_name(name: str) -> str:
    """Return `name` if it is a valid branch short name (`main`, `feature/x`)."""
    return _validate_short_ref(name, "refs/heads/", "branch")


def validate_tag_name(name: str) -> str:
    """Return `name` if it is a valid tag short name (`v1.0`)."""
    return _validate_short_ref(name, "refs/tags/", "tag")
