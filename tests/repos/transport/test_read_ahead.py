"""The serving read-ahead: same bytes as reading the source directly, one block in flight in a
pool thread, errors raised where the block would have been returned, and close() never
leaving a pool thread reading a closed source."""
from __future__ import annotations

import io
import random
import threading

import pytest

from repos.transport import read_ahead
from repos.transport.read_ahead import BLOCK_SIZE, ReadAhead
from tests.live import wait_for

DATA = random.Random(5).randbytes(3 * BLOCK_SIZE + 7)


class Source(io.RawIOBase):
    """A readable over DATA that records who reads it and when, and can be made to fail,
    block, or hand out short reads."""

    def __init__(self, data: bytes = DATA, *, most: int | None = None, fail_at: int | None = None,
                 gated_from: int | None = None) -> None:
        super().__init__()
        self._data, self._pos, self._most, self._fail_at = data, 0, most, fail_at
        self._gated_from = gated_from  # reads from this one on wait for `gate`
        self.gate = threading.Event()
        self.waiting = threading.Event()
        self.threads: set[str] = set()
        self.active = self.max_active = self.reads = 0
        self.read_while_closed = False
        self._lock = threading.Lock()

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self.reads += 1
            number = self.reads
        self.threads.add(threading.current_thread().name)
        try:
            if self._gated_from is not None and number >= self._gated_from:
                self.waiting.set()
                assert self.gate.wait(30), "the test never opened the gate"
            if self.closed:
                self.read_while_closed = True
            if self._fail_at is not None and self._pos + n > self._fail_at:
                raise ValueError("chunk fails authentication")
            n = n if self._most is None else min(n, self._most)
            block = self._data[self._pos:self._pos + n]
            self._pos += len(block)
            return block
        finally:
            with self._lock:
                self.active -= 1


def drain(reader: ReadAhead, size: int) -> bytes:
    out = bytearray()
    while block := reader.read(size):
        assert len(block) <= size
        out += block
    return bytes(out)


@pytest.mark.parametrize("length", [1, BLOCK_SIZE, BLOCK_SIZE + 1, len(DATA)])
@pytest.mark.parametrize("size", [BLOCK_SIZE, 100_000, 2 * BLOCK_SIZE])
def test_same_bytes_as_the_source_with_one_block_in_flight_in_a_pool_thread(length, size):
    source = Source()
    reader = ReadAhead(source, length)
    assert drain(reader, size) == DATA[:length]
    reader.close()
    assert source.closed
    assert source.max_active == 1
    assert source.threads and all(name.startswith("read-ahead") for name in source.threads)


def test_nothing_is_read_before_the_server_asks():
    source = Source()
    reader = ReadAhead(source, len(DATA))
    assert source.reads == 0
    reader.close()
    assert source.reads == 0 and source.closed


def test_short_reads_of_the_source_still_give_the_whole_length():
    reader = ReadAhead(Source(most=70_000), len(DATA))
    assert drain(reader, BLOCK_SIZE) == DATA
    reader.close()


def test_a_source_that_ends_early_ends_the_body_early():
    reader = ReadAhead(Source(DATA[:BLOCK_SIZE + 10]), len(DATA))
    assert drain(reader, BLOCK_SIZE) == DATA[:BLOCK_SIZE + 10]
    reader.close()


def test_an_error_reading_ahead_is_raised_by_the_read_of_that_block():
    source = Source(fail_at=2 * BLOCK_SIZE + 1)
    reader = ReadAhead(source, len(DATA))
    assert reader.read(BLOCK_SIZE) == DATA[:BLOCK_SIZE]
    assert reader.read(BLOCK_SIZE) == DATA[BLOCK_SIZE:2 * BLOCK_SIZE]
    for _ in range(2):  # and again: a failed body never reads as one that ended
        with pytest.raises(ValueError, match="authentication"):
            reader.read(BLOCK_SIZE)
    reader.close()
    assert source.closed


def test_close_waits_for_the_block_in_flight_before_closing_the_source():
    source = Source(gated_from=2)
    reader = ReadAhead(source, len(DATA))
    assert reader.read(BLOCK_SIZE) == DATA[:BLOCK_SIZE]
    assert source.waiting.wait(30)  # the second block is being read ahead, held at the gate

    def open_gate_once_close_began() -> None:
        # A close() that did not wait would have closed the source by now, while the read is
        # still held: the read then finds its source closed.
        try:
            wait_for(lambda: reader._closed, 30, "close() to begin", every=0.01)
        finally:
            source.gate.set()

    opener = threading.Thread(target=open_gate_once_close_began)
    opener.start()
    reader.close()
    opener.join(30)
    wait_for(lambda: source.active == 0, 30, "the read in flight to end")  # at once, if close() waited
    assert source.closed and not source.read_while_closed
    assert reader.read(BLOCK_SIZE) == b""


def test_a_forked_process_gets_a_pool_of_its_own(monkeypatch):
    parent = read_ahead._executor()
    assert read_ahead._executor() is parent
    monkeypatch.setattr(read_ahead, "_pool", read_ahead._pool)  # restored after the test
    monkeypatch.setattr(read_ahead.os, "getpid", lambda: -1)
    child = read_ahead._executor()
    assert child is not parent
    child.shutdown()
