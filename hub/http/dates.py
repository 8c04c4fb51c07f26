"""Dates on the HF wire."""
from __future__ import annotations

from datetime import UTC, datetime


def hf_date(dt: datetime | None) -> str | None:
    """`2026-08-01T10:00:00.000Z`: the client's parser requires the trailing Z."""
    if dt is None:
        return None
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
