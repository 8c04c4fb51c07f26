"""Dataset formats we read, how to tell them apart, and a budget-charging file wrapper."""

from __future__ import annotations

import io
from typing import Any, Literal

from safety.budget import Budget

DatasetFormat = Literal["csv", "tsv", "jsonl", "parquet"]


def dataset_format(name: str, head: bytes = b"") -> DatasetFormat | None:
    """The dataset format from content (Parquet magic) or else the file extension."""
    if head[:4] == b"PAR1":
        return "parquet"
    lowered = name.lower()
    for suffix, fmt in ((".parquet", "parquet"), (".jsonl", "jsonl"), (".ndjson", "jsonl"), (".csv", "csv"),
                        (".tsv", "tsv")):
        if lowered.endswith(suffix):
            return fmt  # type: ignore[return-value]
    return None


class Metered(io.RawIOBase):
    """A file wrapper that charges every byte read to a budget (and passes seeks through, for
    Parquet). Closing it does not close the wrapped file."""

    def __init__(self, raw: Any, budget: Budget) -> None:
        super().__init__()
        self._raw = raw
        self._budget = budget

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        try:
            return bool(self._raw.seekable())
        except (AttributeError, OSError, ValueError):
            return False

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return int(self._raw.seek(offset, whence))

    def tell(self) -> int:
        return int(self._raw.tell())

    def read(self, n: int | None = -1) -> bytes:
        data = self._raw.read(-1 if n is None else n)
        self._budget.charge(len(data))
        return bytes(data)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:  # the wrapped file belongs to the caller
        pass
