"""Absolute URLs the hub emits (commitUrl, LFS hrefs, Link headers, mails).

Built from PUBLIC_URL, the base clients put in HF_ENDPOINT, never from the Host header a
client chose.
"""
from __future__ import annotations

from django.conf import settings


def public_url(path: str = "") -> str:
    """An absolute URL on the base URL clients use as HF_ENDPOINT."""
    return f"{settings.PUBLIC_URL}/{path.lstrip('/')}" if path else settings.PUBLIC_URL
