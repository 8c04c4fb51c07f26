"""Facts about the client of a request that services record (they never see the request)."""
from __future__ import annotations

from typing import Any


def client_ip(request: Any) -> str | None:
    """The client address of a Django or DRF request (REMOTE_ADDR: a deployment behind a proxy
    sets it from the proxy's trusted header, never from a client-supplied one)."""
    if request is None:
        return None
    raw = getattr(request, "_request", request)
    return raw.META.get("REMOTE_ADDR") or None
