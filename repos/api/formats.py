"""Small value formats of the HF wire protocol."""
from __future__ import annotations

from datetime import UTC, datetime


def hf_date(dt: datetime | None) -> str | None:
    """`2026-08-01T10:00:00.000Z`: the client's parser requires the trailing Z."""
    if dt is None:
        return None
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def query_bool(value: str | None, default: bool = False) -> bool:
    """httpx sends true/false, requests True/False, some endpoints 1."""
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes"}
