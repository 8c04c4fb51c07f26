"""The one rule for names: users, organizations (namespaces) and repositories.

Pure (no Django, no I/O) so the git layer and hook programs can call it too. Names appear in
URLs, git remotes and log lines, and every repository path on the site is `/{namespace}/{name}`.
"""
from __future__ import annotations

import re

# HF's rule (huggingface_hub.utils.validate_repo_id) is `[\w\-.]{1,96}` bounded by word
# characters. We use ASCII-only `\w`: Unicode look-alikes ("аlice" with a Cyrillic a) would let
# one user impersonate another.
_NAME_RE = re.compile(r"[\w\-.]{1,96}", re.ASCII)

# First path segments the site itself uses: a user or organization with one of these names
# would be unreachable at `/{name}` (those routes are matched first).
RESERVED_NAMESPACES = frozenset({
    "admin", "api", "datasets", "docs", "join", "login", "logout", "models", "new", "new-dataset", "notifications",
    "organizations", "password-reset", "search", "settings", "signup", "spaces", "static", "lfs-upload", "xet",
    # The hub's own account (settings HUB_BOT_USERNAME, jobs/bot.py): nobody may sign up as it.
    "modelhub-bot",
    "jobs",  # /jobs/N: the job pages
})


class InvalidName(ValueError):
    """A user, organization or repository name that breaks the naming rule."""


def validate_name(name: object, kind: str) -> str:
    """Return `name` if it is an acceptable `kind` name ("namespace", "repository name"), else
    raise InvalidName with a message fit for the user."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise InvalidName(
            f"Invalid {kind} {name!r}: use 1 to 96 characters among letters, digits, "
            "'-', '_' and '.'"
        )
    if name[0] in "-." or name[-1] in "-.":
        raise InvalidName(f"Invalid {kind} {name!r}: cannot start or end with '-' or '.'")
    if "--" in name or ".." in name:
        raise InvalidName(f"Invalid {kind} {name!r}: '--' and '..' are forbidden")
    if name.lower().endswith(".git"):
        # `/{ns}/{name}.git/...` is the git smart HTTP URL space; a repo called `x.git`
        # would make `/{ns}/x.git` ambiguous.
        raise InvalidName(f"Invalid {kind} {name!r}: cannot end with '.git'")
    return name


def validate_namespace(name: object) -> str:
    """Return `name` if it is an acceptable user/organization name (syntax only)."""
    return validate_name(name, "namespace")


def namespace_error(name: str, *, kind: str) -> str | None:
    """Why `name` cannot be given to a new user or organization (`kind`), syntax and reserved
    words only (`accounts.services.users.namespace_check` also checks it is free)."""
    try:
        validate_namespace(name)
    except InvalidName as exc:
        return f"Invalid {kind} name: {exc}"
    if name.lower() in RESERVED_NAMESPACES:
        return f"{name!r} is reserved, choose another {kind} name"
    return None
