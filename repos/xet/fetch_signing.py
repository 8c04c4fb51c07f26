"""Self-authenticating fetch URLs for xorb byte ranges (XET.md §3.7, §5.3).

hf_xet fetches the ``url`` of a reconstruction's ``fetch_info`` with an *unauthenticated* client
(no Authorization header, only ``Range``), so the URL itself carries the permission: an
HMAC-SHA256 over exactly one xorb, one byte range, an expiry and the reader it was issued to.

Why bind the range: one xorb can hold chunks of several files from different uploaders. A URL
valid for "any range of xorb X" would let a reader of one file download neighbouring chunks of
another. The signed range covers only chunks of the file the reconstruction was asked for, and a
``Range`` outside it is refused (HTTP 403; the client then re-asks for fresh URLs).

URL shape: ``{cas_url}/v1/fetch/{xorb}?r={start}-{end_inclusive}&exp={unix}&u={reader}&sig={hex}``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlencode

from .errors import FetchDenied, InvalidHashString, MalformedRange
from .hashes import MerkleHash
from .http_range import parse_exact_range

# Versioned purpose: a signature minted for another use of the same secret never verifies here.
_PURPOSE: Final = "modelhub-xet-fetch-v1"
_SIG_RE = re.compile(r"[0-9a-f]{64}")
_RANGE_RE = re.compile(r"(\d{1,19})-(\d{1,19})")
_INT_RE = re.compile(r"\d{1,19}")
_READER_MAX: Final = 200


@dataclass(frozen=True)
class FetchGrant:
    """What a verified fetch URL allows: bytes ``[start, end)`` of ``xorb`` (the requested part)."""

    xorb: MerkleHash
    start: int
    end: int
    reader: str


def _message(xorb: MerkleHash, start: int, end: int, expires_at: int, reader: str) -> bytes:
    # JSON: unambiguous field boundaries whatever the reader string contains.
    return json.dumps([_PURPOSE, xorb.hex(), start, end, expires_at, reader], separators=(",", ":")).encode()


def sign_fetch(secret: bytes, *, xorb: MerkleHash, start: int, end: int, expires_at: int, reader: str) -> str:
    """Hex HMAC allowing ``reader`` to GET bytes ``[start, end)`` of ``xorb`` until ``expires_at``."""
    if not secret:
        raise ValueError("an empty signing secret would make every signature forgeable")
    if not (0 <= start < end):
        raise ValueError("a fetch range is non-empty")
    if len(reader) > _READER_MAX:
        raise ValueError("reader identifier too long for a URL")
    return hmac.new(secret, _message(xorb, start, end, expires_at, reader), hashlib.sha256).hexdigest()


def fetch_url(
    cas_url: str, *, secret: bytes, xorb: MerkleHash, start: int, end: int, expires_at: int, reader: str
) -> str:
    """The signed URL for bytes ``[start, end)`` of ``xorb`` (``cas_url`` without trailing slash)."""
    sig = sign_fetch(secret, xorb=xorb, start=start, end=end, expires_at=expires_at, reader=reader)
    query = urlencode({"r": f"{start}-{end - 1}", "exp": str(expires_at), "u": reader, "sig": sig})
    return f"{cas_url.rstrip('/')}/v1/fetch/{xorb.hex()}?{query}"


def check_fetch(
    secret: bytes,
    *,
    xorb_hex: str,
    query: Mapping[str, str],
    range_header: str | None,
    now: int,
) -> FetchGrant:
    """Verify a fetch request; return the byte range to serve or raise ``FetchDenied``.

    ``query`` is the URL's query parameters (single values). Without a ``Range`` header the whole
    signed range is served; with one it must lie inside the signed range.
    """
    try:
        xorb = MerkleHash.from_hex(xorb_hex)
    except InvalidHashString:
        raise FetchDenied("bad xorb name") from None
    r, exp, reader, sig = (query.get(k, "") for k in ("r", "exp", "u", "sig"))
    m = _RANGE_RE.fullmatch(r)
    if m is None or _INT_RE.fullmatch(exp) is None or _SIG_RE.fullmatch(sig) is None or len(reader) > _READER_MAX:
        raise FetchDenied("malformed fetch URL")
    signed_start, signed_end = int(m.group(1)), int(m.group(2)) + 1
    expires_at = int(exp)
    if signed_end <= signed_start:
        raise FetchDenied("malformed fetch URL")
    expected = sign_fetch(secret, xorb=xorb, start=signed_start, end=signed_end, expires_at=expires_at, reader=reader)
    # Compare first, then check expiry, so timing does not tell which check failed.
    if not hmac.compare_digest(expected, sig) or now >= expires_at:
        raise FetchDenied("invalid or expired fetch URL")
    if range_header is None:
        return FetchGrant(xorb, signed_start, signed_end, reader)
    try:
        start, end = parse_exact_range(range_header)
    except MalformedRange:
        raise FetchDenied("malformed Range header") from None
    if start < signed_start or end > signed_end:
        raise FetchDenied("Range outside the signed byte range")
    return FetchGrant(xorb, start, end, reader)
