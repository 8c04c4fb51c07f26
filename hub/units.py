"""Sizes as people read them, in decimal units like the Hugging Face Hub (1 kB = 1000 bytes).

The one home for byte counts shown to people: templates use the `size` filter
(`hub.template_filters`), Python code calls `decimal_size`, and `static/js/hub.js` mirrors the
same rule for sizes the browser computes. Binary units (Django's `filesizeformat`) would show a
300 MB file as "286.1 MB", which no other tool a Hub user knows agrees with.
"""
from __future__ import annotations

_UNITS = ("kB", "MB", "GB", "TB", "PB")
NBSP = "\xa0"  # a size never breaks between number and unit


def decimal_size(n: int | float | None) -> str:
    """300_000_000 -> "300.0 MB", 2048 -> "2.0 kB", 1 -> "1 byte", 999 -> "999 bytes"."""
    try:
        value = float(n or 0)
    except (TypeError, ValueError):
        value = 0.0
    if value < 1000:
        count = max(int(value), 0)
        return f"{count}{NBSP}{'byte' if count == 1 else 'bytes'}"
    i = 0
    value /= 1000
    # 999_950 bytes would print as "1000.0 kB": step up to "1.0 MB" instead.
    while round(value, 1) >= 1000 and i < len(_UNITS) - 1:
        value /= 1000
        i += 1
    return f"{value:.1f}{NBSP}{_UNITS[i]}"
