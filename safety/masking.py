"""Masked renderings of secrets and personal data for reports.

Reports are read by people who may not see the original file (and are stored in the database),
so they carry a recognisable shape of each finding, never the value: a few characters that do
not identify it (a token's public prefix, a card's last four digits, an address's top-level
domain) and asterisks for the rest. Separators are kept so a masked phone still looks like one.
"""

from __future__ import annotations

import re

_ALNUM = re.compile(r"[0-9A-Za-z]")
_LONG_TOKEN = re.compile(r"[A-Za-z0-9+/=_\-]{16,}")
_DIGIT = re.compile(r"[0-9]")
_LETTER = re.compile(r"[A-Za-z]")


def mask_secret(value: str) -> str:
    """A secret reduced to at most its first 4 characters (enough to tell `hf_`, `AKIA`,
    `ghp_` apart) followed by asterisks; short values are fully masked."""
    shown = 4 if len(value) >= 16 else 2 if len(value) >= 10 else 0
    return value[:shown] + "*" * max(4, min(len(value) - shown, 16))


def mask_long_tokens(text: str) -> str:
    """Mask every token-like run in free text: 16+ base64/hex/url-safe characters mixing letters
    and digits (identifiers like `aws_access_key_id` stay readable).

    Used for the context around a finding: the same line may hold a second secret that no
    detector recognised, and the excerpt must not leak it.
    """

    def mask(match: re.Match[str]) -> str:
        run = match.group(0)
        return mask_secret(run) if _DIGIT.search(run) and _LETTER.search(run) else run

    return _LONG_TOKEN.sub(mask, text)


def _mask_keep_last(value: str, keep: int, keep_first: int = 0) -> str:
    positions = [m.start() for m in _ALNUM.finditer(value)]
    visible = set(positions[:keep_first]) | set(positions[len(positions) - keep:] if keep else [])
    return "".join(ch if (i in visible or not _ALNUM.match(ch)) else "*" for i, ch in enumerate(value))


def mask_entity(entity_type: str, value: str) -> str:
    """A masked example of one personal-data value, shaped by its type."""
    if entity_type == "EMAIL_ADDRESS" and "@" in value:
        local, _, domain = value.rpartition("@")
        tld = domain.rsplit(".", 1)[-1] if "." in domain else ""
        return f"{local[:1]}***@{domain[:1]}***" + (f".{tld}" if tld else "")
    if entity_type == "IP_ADDRESS":
        if ":" in value:
            return value.split(":", 1)[0] + ":****:****"
        return value.split(".", 1)[0] + ".*.*.*"
    if entity_type == "CREDIT_CARD":
        return _mask_keep_last(value, 4)
    if entity_type == "IBAN_CODE":
        return _mask_keep_last(value, 2, keep_first=2)
    if entity_type == "PHONE_NUMBER":
        return _mask_keep_last(value, 2)
    return value[:1] + "*" * max(3, min(len(value) - 1, 12))
