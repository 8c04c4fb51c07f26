"""NDJSON frames of ``POST /v2/shards`` (hf-xet >= 1.6; XET.md §3.3).

The v2 answer is HTTP 200 with ``application/x-ndjson`` lines; the *last* line decides the
outcome (``result`` or ``error``), because the status is sent before validation ends. While
verifying (sha256 reconstruction can take minutes) the server should repeat a ``validating``
frame every ~15 s: the client's read timeout is 300 s between bytes. A stream that ends without a
terminal frame is a client-side error. Each line must stay under 1 MiB.
"""

from __future__ import annotations

import json
from typing import Final, Literal

CONTENT_TYPE: Final = "application/x-ndjson"
HEARTBEAT_SECONDS: Final = 15
_MAX_MESSAGE: Final = 4096


def _line(obj: dict[str, object]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode("utf-8") + b"\n"


def validating_frame(*, verified: int, total: int) -> bytes:
    return _line({"type": "validating", "verified": verified, "total": total})


def committing_frame(stage: Literal["uploading", "syncing"]) -> bytes:
    return _line({"type": "committing", "stage": stage})


def result_frame() -> bytes:
    return _line({"type": "result"})


def error_frame(message: str, *, retryable: bool) -> bytes:
    """Terminal failure. ``retryable=False`` for anything the client caused (bad shard)."""
    return _line({"type": "error", "message": message[:_MAX_MESSAGE], "retryable": retryable})
