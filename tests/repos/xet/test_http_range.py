from __future__ import annotations

import pytest

from repos.xet.errors import MalformedRange, RangeNotSatisfiable
from repos.xet.http_range import content_range, parse_exact_range, parse_range


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 10, None),
        ("bytes=0-9", 10, (0, 10)),
        ("bytes=2-4", 10, (2, 5)),
        ("bytes=5-", 10, (5, 10)),
        ("bytes=0-999", 10, (0, 10)),  # clamped
        ("bytes=-3", 10, (7, 10)),
        ("bytes=-30", 10, (0, 10)),
        ("bytes=0-0", 0, (0, 0)),  # empty file
    ],
)
def test_parse_range(header: str | None, size: int, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, size=size) == expected


@pytest.mark.parametrize(
    ("header", "size"), [("bytes=10-20", 10), ("bytes=11-", 10), ("bytes=-0", 10), ("bytes=1-1", 0)]
)
def test_unsatisfiable(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, size=size)


@pytest.mark.parametrize(
    "header", ["bytes=", "bytes=-", "bytes=5-2", "bytes=1-2,4-5", "chunks=1-2", "bytes=a-b", "bytes=" + "9" * 30 + "-"]
)
def test_malformed(header: str) -> None:
    with pytest.raises(MalformedRange):
        parse_range(header, size=10)


def test_exact_range_and_content_range() -> None:
    assert parse_exact_range("bytes=3-7") == (3, 8)
    for bad in [None, "bytes=3-", "bytes=-3"]:
        with pytest.raises(MalformedRange):
            parse_exact_range(bad)
    assert content_range(3, 8, 100) == "bytes 3-7/100"
