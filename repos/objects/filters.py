"""The filter chains of the byte door, where scanning and encryption plug in.

Configured by dotted paths in settings (`HUB_OBJECT_INGEST_FILTERS`, `HUB_OBJECT_READ_FILTERS`),
each naming a class instantiated once with no arguments; both lists are empty by default.

* An ingest filter sees every object entering the store (`ObjectRef`: repository, oid, size):
  `transform` may replace the content chunks by the bytes to store (encryption), `check` gets
  an opener of the stored object before it becomes visible and raises a HubError to refuse it
  (scanning). `transform`s compose in list order; a read filter must undo them in reverse.
* A read filter wraps the stored file into the content reader (decryption); a filter that
  returns something without `fileno` turns sendfile off for that object, as it must.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from repos.models import Repository


@dataclass(frozen=True)
class ObjectRef:
    """One object as the door handles it: which repository it enters or is read through."""

    repo: Repository
    oid: str
    size: int


class IngestFilter(Protocol):
    def transform(self, ref: ObjectRef, chunks: Iterator[bytes]) -> Iterable[bytes]:
        """The bytes to store for content `chunks` (return `chunks` to store them as they are).
        Chunks may be views of a reused buffer: copy what you keep."""

    def check(self, ref: ObjectRef, open_stored: Callable[[], BinaryIO]) -> None:
        """Raise a HubError to refuse the verified object before it becomes visible."""


class ReadFilter(Protocol):
    def wrap(self, ref: ObjectRef, stored: BinaryIO) -> BinaryIO:
        """A seekable reader of the content from the stored file (return `stored` if unchanged)."""


def _load(paths: Sequence[str]) -> tuple[Any, ...]:
    return tuple(import_string(path)() for path in paths)


@lru_cache(maxsize=4)
def _chain(setting: str, paths: tuple[str, ...]) -> tuple[Any, ...]:
    return _load(paths)


def ingest_filters() -> tuple[IngestFilter, ...]:
    paths = tuple(getattr(settings, "HUB_OBJECT_INGEST_FILTERS", ()))
    return _chain("ingest", paths)


def read_filters() -> tuple[ReadFilter, ...]:
    paths = tuple(getattr(settings, "HUB_OBJECT_READ_FILTERS", ()))
    return _chain("read", paths)
