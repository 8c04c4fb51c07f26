"""Byte and time budgets shared by every scanner in `safety`.

Every walker of user data here is bounded: it charges the bytes it pulls from a stream and
checks a deadline as it goes. Hitting a bound raises `LimitExceeded`, which scanners turn into
a verdict ("unscanned"), never into an exception escaping to the caller. The clock is passed
in so tests can drive deadlines without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]


class LimitExceeded(Exception):
    """A scan reached one of its configured bounds (bytes, seconds, entries, depth...).

    `limit` names the bound (e.g. "max_bytes") so reports can say which one to raise.
    """

    def __init__(self, limit: str, detail: str = "") -> None:
        self.limit = limit
        self.detail = detail
        super().__init__(f"{limit} exceeded" + (f": {detail}" if detail else ""))


class Budget:
    """Counts bytes consumed and enforces a wall-clock deadline.

    Invariant: `bytes_used` only grows, and once `charge` or `check_time` has raised, every
    later call raises too (the scan is over; callers must not resume it).
    """

    __slots__ = ("max_bytes", "max_seconds", "_clock", "_deadline", "bytes_used", "_spent")

    def __init__(self, *, max_bytes: int, max_seconds: float, clock: Clock = time.monotonic) -> None:
        if max_bytes < 0 or max_seconds < 0:
            raise ValueError("budgets must be non-negative")
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        self._clock = clock
        self._deadline = clock() + max_seconds
        self.bytes_used = 0
        self._spent: LimitExceeded | None = None

    def charge(self, n: int) -> None:
        """Account for `n` more bytes read (or skipped) and check the deadline."""
        self.bytes_used += n
        if self.bytes_used > self.max_bytes:
            self._fail(LimitExceeded("max_bytes", f"more than {self.max_bytes} bytes"))
        self.check_time()

    def check_time(self) -> None:
        if self._spent is not None:
            raise self._spent
        if self._clock() > self._deadline:
            self._fail(LimitExceeded("max_seconds", f"scan took longer than {self.max_seconds:g} s"))

    def _fail(self, error: LimitExceeded) -> None:
        self._spent = error
        raise error
