from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from repos.xet.errors import FetchDenied
from repos.xet.fetch_signing import check_fetch, fetch_url, sign_fetch
from repos.xet.hashes import chunk_hash

SECRET = b"fetch-secret-for-tests"
XORB = chunk_hash(b"xorb")
NOW = 1_800_000_000


def _url(**over: object) -> tuple[str, dict[str, str]]:
    args: dict[str, object] = {"xorb": XORB, "start": 100, "end": 5000, "expires_at": NOW + 60, "reader": "user:7"}
    args.update(over)
    url = fetch_url("https://hub.test/xet", secret=SECRET, **args)  # type: ignore[arg-type]
    parts = urlsplit(url)
    return parts.path.rsplit("/", 1)[1], dict(parse_qsl(parts.query))


def test_url_shape_and_exact_range() -> None:
    url = fetch_url(
        "https://hub.test/xet/", secret=SECRET, xorb=XORB, start=100, end=5000, expires_at=NOW + 60, reader="u"
    )
    assert url.startswith(f"https://hub.test/xet/v1/fetch/{XORB.hex()}?r=100-4999&")
    name, q = _url()
    grant = check_fetch(SECRET, xorb_hex=name, query=q, range_header="bytes=100-4999", now=NOW)
    assert (grant.xorb, grant.start, grant.end, grant.reader) == (XORB, 100, 5000, "user:7")


def test_sub_range_and_missing_header() -> None:
    name, q = _url()
    assert (lambda g: (g.start, g.end))(
        check_fetch(SECRET, xorb_hex=name, query=q, range_header="bytes=200-299", now=NOW)
    ) == (200, 300)
    g = check_fetch(SECRET, xorb_hex=name, query=q, range_header=None, now=NOW)
    assert (g.start, g.end) == (100, 5000)


@pytest.mark.parametrize(
    "header", ["bytes=99-4999", "bytes=100-5000", "bytes=0-", "bytes=-10", "bytes=5-1", "items=1-2"]
)
def test_range_outside_or_malformed_is_denied(header: str) -> None:
    name, q = _url()
    with pytest.raises(FetchDenied):
        check_fetch(SECRET, xorb_hex=name, query=q, range_header=header, now=NOW)


@pytest.mark.parametrize(
    "tamper",
    [
        {"r": "0-4999"},  # widen the signed range
        {"exp": str(NOW + 86400)},  # extend the expiry
        {"u": "user:8"},  # another reader
        {"sig": "0" * 64},
        {"sig": "zz"},
        {"r": "x"},
        {"exp": "-1"},
    ],
)
def test_tampered_urls_are_denied(tamper: dict[str, str]) -> None:
    name, q = _url()
    with pytest.raises(FetchDenied):
        check_fetch(SECRET, xorb_hex=name, query={**q, **tamper}, range_header=None, now=NOW)


def test_other_xorb_other_secret_and_expiry() -> None:
    name, q = _url()
    with pytest.raises(FetchDenied):
        check_fetch(SECRET, xorb_hex=chunk_hash(b"other").hex(), query=q, range_header=None, now=NOW)
    with pytest.raises(FetchDenied):
        check_fetch(SECRET, xorb_hex="not-a-hash", query=q, range_header=None, now=NOW)
    with pytest.raises(FetchDenied):
        check_fetch(b"another secret", xorb_hex=name, query=q, range_header=None, now=NOW)
    with pytest.raises(FetchDenied):
        check_fetch(SECRET, xorb_hex=name, query=q, range_header=None, now=NOW + 60)
    with pytest.raises(FetchDenied):
        check_fetch(SECRET, xorb_hex=name, query={}, range_header=None, now=NOW)


def test_signing_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError):
        sign_fetch(b"", xorb=XORB, start=0, end=1, expires_at=1, reader="")
    with pytest.raises(ValueError):
        sign_fetch(SECRET, xorb=XORB, start=5, end=5, expires_at=1, reader="")
    with pytest.raises(ValueError):
        sign_fetch(SECRET, xorb=XORB, start=0, end=1, expires_at=1, reader="x" * 500)
