import io
import os

import pytest

from repos.weights.checkpoint import Blob, InvalidWeightsFile
from repos.weights.chunk_reader import RangeReader, chunks_equal

DATA = os.urandom(3 * 1024 * 1024)


class Forward(io.RawIOBase):
    """A pipe-like stream: reads only, no seek."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        chunk = self._inner.read(min(len(b), 70_000))  # short reads, like a socket
        b[: len(chunk)] = chunk
        return len(chunk)


@pytest.mark.parametrize("seekable", [True, False])
def test_ranges_in_any_order(seekable: bool) -> None:
    opens = []

    def opener() -> io.IOBase:
        opens.append(1)
        return io.BytesIO(DATA) if seekable else Forward(DATA)

    reader = RangeReader(Blob(open=opener, size=len(DATA)), side="old", file="f")  # type: ignore[arg-type]
    for start, size in [(10, 100), (500_000, 4096), (300, 50), (2_900_000, 100_000), (5, 1)]:
        out = bytearray(size)
        reader.read_into(start, memoryview(out))
        assert out == DATA[start : start + size]
    reader.close()
    # Seekable: one open. Forward-only: going back (to 300, then to 5) reopens; forward gaps
    # (to 500 kB, to 2.9 MB) are read through.
    assert len(opens) == (1 if seekable else 3)


def test_past_the_end_and_short_streams_are_typed() -> None:
    reader = RangeReader(Blob(open=lambda: io.BytesIO(DATA[:1000]), size=2000), side="new", file="s")
    with pytest.raises(InvalidWeightsFile, match="ends before byte 1500"):
        reader.read_into(900, memoryview(bytearray(600)))
    with pytest.raises(InvalidWeightsFile, match="ends before byte 2001"):
        reader.read_into(1901, memoryview(bytearray(100)))


def test_chunks_equal_whole_and_tail() -> None:
    a, b = bytearray(DATA[:4096]), bytearray(DATA[:4096])
    assert chunks_equal(a, b, 4096) and chunks_equal(a, b, 4093)
    b[4092] ^= 1
    assert not chunks_equal(a, b, 4096) and not chunks_equal(a, b, 4093) and chunks_equal(a, b, 4092)
    b[4092] ^= 1
    b[3] ^= 0x80
    assert not chunks_equal(a, b, 9) and chunks_equal(a, b, 3)
