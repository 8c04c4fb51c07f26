"""Reading one split of a dataset snapshot: CSV/TSV, JSON Lines, JSON arrays and Parquet.

Where a split lives, in the order the Hub uses:
1. the ``configs`` list of the dataset card's front matter (``data_files`` mapping splits to
   paths or glob patterns, optional ``data_dir``); the config is named by the eval spec, else
   the one marked ``default: true``, else the one named ``default``, else the only one;
2. otherwise the file-name conventions ``<split>.<ext>``, ``<split>-*.<ext>``,
   ``<split>/**``, each also under ``data/``.

Everything is streamed and bounded (``DataLimits``): bytes read across all files, rows, the
size of one CSV field or JSON line, the number of files and of directory entries walked.
Only the requested columns are kept. Hostile files end in a ``DatasetError`` naming the file
and the limit, never in unbounded memory, a hang or a RecursionError. Symlinks are never
followed (a snapshot is a plain tree; a link is either a mistake or an attempt to read
outside it).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from jobs.runners.base import ResourceLimitError, RunnerError

SUPPORTED_EXTENSIONS = (".csv", ".tsv", ".jsonl", ".json", ".parquet")
MAX_WALK_DEPTH = 16
MAX_PATTERN_CHARS = 512


class DatasetError(RunnerError):
    kind = "data"


@dataclass(frozen=True, slots=True)
class DataLimits:
    max_rows: int = 200_000
    max_bytes: int = 512 * 1024**2  # bytes read (Parquet: uncompressed) across the split
    max_cell_bytes: int = 1024**2  # one CSV field, one JSON line
    max_files: int = 256  # files in one split
    max_walk_entries: int = 20_000  # directory entries looked at while finding files
    max_card_bytes: int = 1024**2


@dataclass(frozen=True, slots=True)
class SplitData:
    columns: dict[str, list[Any]]
    rows: int
    files: tuple[str, ...]  # relative paths read, in order


def load_split(
    *,
    dataset_dir: Path,
    split: str,
    columns: Sequence[str],
    config: str | None = None,
    limits: DataLimits = DataLimits(),
) -> SplitData:
    """The requested ``columns`` of ``split``, in file order then row order. Raises
    ``DatasetError`` when the split, a column or a file is missing or malformed, and
    ``ResourceLimitError`` when a limit is exceeded."""
    files = split_files(dataset_dir=dataset_dir, split=split, config=config, limits=limits)
    budget = _Budget(limits.max_bytes)
    out: dict[str, list[Any]] = {c: [] for c in columns}
    rows = 0
    for rel in files:
        for row in _read_rows(dataset_dir / rel, rel, tuple(columns), budget, limits):
            rows += 1
            if rows > limits.max_rows:
                raise ResourceLimitError(f"Split {split!r} has more than {limits.max_rows} rows")
            for c in columns:
                out[c].append(row[c])
    if rows == 0:
        raise DatasetError(f"Split {split!r} has no rows")
    return SplitData(columns=out, rows=rows, files=tuple(files))


def split_files(
    *, dataset_dir: Path, split: str, config: str | None = None, limits: DataLimits = DataLimits()
) -> list[str]:
    """Relative paths of the files of ``split`` (sorted within each pattern, duplicates
    removed), resolved from the card's ``configs`` or the naming conventions."""
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}", split) or ".." in split:
        raise DatasetError(f"Invalid split name {split!r}")
    all_files = _list_files(dataset_dir, limits)
    configs = _card_configs(dataset_dir, limits)
    if configs is not None:
        patterns = _patterns_from_configs(configs, split, config)
    elif config is not None and config != "default":
        raise DatasetError(f"The dataset card declares no configs, so config {config!r} does not exist")
    else:
        patterns = [f"{prefix}{split}{tail}" for prefix in ("", "data/") for tail in (".*", "-*", "/**")]
    matched: list[str] = []
    seen: set[str] = set()
    for pattern in patterns:
        regex = _glob_regex(pattern)
        for rel in sorted(f for f in all_files if regex.fullmatch(f)):
            if rel in seen or not rel.lower().endswith(SUPPORTED_EXTENSIONS):
                if configs is not None and rel not in seen:
                    raise DatasetError(f"{rel!r} is not a supported data file ({', '.join(SUPPORTED_EXTENSIONS)})")
                continue
            seen.add(rel)
            matched.append(rel)
    if not matched:
        raise DatasetError(f"The dataset has no files for split {split!r}")
    if len(matched) > limits.max_files:
        raise ResourceLimitError(f"Split {split!r} has more than {limits.max_files} files")
    return matched


# ---------------------------------------------------------------------------------------------
# Finding files


def _list_files(root: Path, limits: DataLimits) -> list[str]:
    found: list[str] = []
    seen_entries = 0

    def walk(directory: Path, prefix: str, depth: int) -> None:
        nonlocal seen_entries
        if depth > MAX_WALK_DEPTH:
            return
        with os.scandir(directory) as entries:
            for entry in entries:
                seen_entries += 1
                if seen_entries > limits.max_walk_entries:
                    raise ResourceLimitError(f"The dataset has more than {limits.max_walk_entries} files")
                if entry.name == ".git":
                    continue
                mode = entry.stat(follow_symlinks=False).st_mode
                if stat.S_ISDIR(mode):
                    walk(Path(entry.path), f"{prefix}{entry.name}/", depth + 1)
                elif stat.S_ISREG(mode):
                    found.append(f"{prefix}{entry.name}")

    if not root.is_dir():
        raise DatasetError("The dataset snapshot is missing")
    walk(root, "", 0)
    return found


def _card_configs(root: Path, limits: DataLimits) -> list[Any] | None:
    card = root / "README.md"
    try:
        st = card.lstat()
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    if st.st_size > limits.max_card_bytes:
        raise DatasetError("The dataset card (README.md) is too large to read its configs")
    # repos.cards is the one home of front-matter parsing (same regex as huggingface_hub,
    # bounded YAML); it is pure and imported here only when a card exists.
    from repos.cards import split_front_matter

    metadata, _, error = split_front_matter(card.read_text(encoding="utf-8", errors="replace"))
    if error:
        raise DatasetError(f"The dataset card's metadata is invalid: {error}")
    if not metadata or "configs" not in metadata:
        return None
    configs = metadata["configs"]
    if not isinstance(configs, list) or not configs:
        raise DatasetError("The dataset card's 'configs' must be a non-empty list")
    return configs


def _patterns_from_configs(configs: list[Any], split: str, name: str | None) -> list[str]:
    entries = [c for c in configs if isinstance(c, Mapping)]
    names = [str(c.get("config_name", "default")) for c in entries]
    if name is not None:
        chosen = [c for c, n in zip(entries, names, strict=True) if n == name]
        if not chosen:
            raise DatasetError(f"The dataset card has no config {name!r} (configs: {', '.join(names[:20])})")
    else:
        chosen = [c for c in entries if c.get("default") is True] or [
            c for c, n in zip(entries, names, strict=True) if n == "default"
        ]
        if not chosen and len(entries) == 1:
            chosen = entries
        if not chosen:
            raise DatasetError(
                f"The dataset card has several configs ({', '.join(names[:20])}); name one as dataset.config"
            )
    entry = chosen[0]
    data_dir = entry.get("data_dir")
    if data_dir is not None and (not isinstance(data_dir, str) or not _safe_relative(data_dir)):
        raise DatasetError("The dataset card's data_dir must be a relative path inside the dataset")
    prefix = f"{data_dir.strip('/')}/" if data_dir else ""
    data_files = entry.get("data_files")
    by_split: dict[str, list[str]] = {}
    if data_files is None:
        return [f"{prefix}{split}{tail}" for tail in (".*", "-*", "/**")]
    if isinstance(data_files, str):
        by_split["train"] = [data_files]
    elif isinstance(data_files, Mapping):
        for k, v in data_files.items():
            by_split[str(k)] = _pattern_list(v)
    elif isinstance(data_files, list):
        if all(isinstance(x, str) for x in data_files):
            by_split["train"] = list(data_files)
        else:
            for item in data_files:
                if not isinstance(item, Mapping) or "split" not in item or "path" not in item:
                    raise DatasetError("Each data_files entry of the dataset card needs 'split' and 'path'")
                by_split.setdefault(str(item["split"]), []).extend(_pattern_list(item["path"]))
    else:
        raise DatasetError("The dataset card's data_files has an unsupported shape")
    if split not in by_split:
        raise DatasetError(f"The dataset card declares no split {split!r} (splits: {', '.join(sorted(by_split))})")
    patterns = [f"{prefix}{_strip_dot_slash(p)}" for p in by_split[split]]
    for p in patterns:
        if not _safe_relative(p) or len(p) > MAX_PATTERN_CHARS:
            raise DatasetError(f"Data file pattern {p[:80]!r} must be a relative path inside the dataset")
    return patterns


def _strip_dot_slash(path: str) -> str:
    while path.startswith("./"):
        path = path[2:]
    return path


def _pattern_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value) and len(value) <= 1000:
        return list(value)
    raise DatasetError("A data_files path must be a string or a list of strings")


def _safe_relative(path: str) -> bool:
    return bool(path) and not path.startswith("/") and "\\" not in path and ".." not in path.split("/")


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """fsspec-style globs as the Hub resolves data_files: ``*`` and ``?`` stay within one path
    segment, ``**`` crosses segments; everything else is literal."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


# ---------------------------------------------------------------------------------------------
# Reading rows


class _Budget:
    """Bytes left to read across the whole split."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def spend(self, n: int) -> None:
        self.used += n
        if self.used > self.limit:
            raise ResourceLimitError(f"The split is larger than the limit of {self.limit} bytes")


class _CountingReader(io.RawIOBase):
    """A raw binary reader that charges every byte to the budget, so text and CSV layers on top
    cannot read past it, whatever their buffering."""

    def __init__(self, raw: BinaryIO, budget: _Budget) -> None:
        self._raw = raw
        self._budget = budget

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        data = self._raw.read(len(b))
        self._budget.spend(len(data))
        b[: len(data)] = data
        return len(data)


def _read_rows(
    path: Path, rel: str, columns: tuple[str, ...], budget: _Budget, limits: DataLimits
) -> Iterator[dict[str, Any]]:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        yield from _csv_rows(path, rel, columns, budget, limits, delimiter="\t" if suffix == ".tsv" else ",")
    elif suffix == ".jsonl":
        yield from _jsonl_rows(path, rel, columns, budget, limits)
    elif suffix == ".json":
        yield from _json_rows(path, rel, columns, budget, limits)
    elif suffix == ".parquet":
        yield from _parquet_rows(path, rel, columns, budget)
    else:  # pragma: no cover - split_files filters extensions
        raise DatasetError(f"{rel!r} is not a supported data file")


@contextmanager
def _csv_field_limit(limit: int) -> Iterator[None]:
    previous = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _open_nofollow(path: Path) -> BinaryIO:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    return os.fdopen(fd, "rb", buffering=0)


def _open_counted(path: Path, budget: _Budget) -> io.BufferedReader:
    return io.BufferedReader(_CountingReader(_open_nofollow(path), budget), buffer_size=64 * 1024)


def _missing(rel: str, columns: Sequence[str], available: Sequence[str]) -> DatasetError:
    missing = [c for c in columns if c not in available]
    shown = ", ".join(repr(a) for a in list(available)[:30])
    return DatasetError(f"{rel!r} has no column {', '.join(map(repr, missing))} (columns: {shown})")


def _csv_rows(
    path: Path, rel: str, columns: tuple[str, ...], budget: _Budget, limits: DataLimits, *, delimiter: str
) -> Iterator[dict[str, Any]]:
    with _open_counted(path, budget) as raw, _csv_field_limit(limits.max_cell_bytes):
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="strict", newline="")
        reader = csv.reader(text, delimiter=delimiter)
        try:
            header = next(reader, None)
            if header is None:
                return
            if any(c not in header for c in columns):
                raise _missing(rel, columns, header)
            index = [header.index(c) for c in columns]
            for line_no, row in enumerate(reader, start=2):
                if not row:
                    continue
                if len(row) != len(header):
                    raise DatasetError(f"{rel!r} row {line_no} has {len(row)} fields, the header has {len(header)}")
                yield {c: row[i] for c, i in zip(columns, index, strict=True)}
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise ResourceLimitError(f"{rel!r} has a field longer than {limits.max_cell_bytes} bytes") from None
            raise DatasetError(f"{rel!r} is not valid CSV: {exc}") from None
        except UnicodeDecodeError:
            raise DatasetError(f"{rel!r} is not valid UTF-8") from None


def _json_value(line: bytes, rel: str, line_no: int) -> Any:
    try:
        return json.loads(line)
    except RecursionError:
        raise DatasetError(f"{rel!r} line {line_no} nests too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{rel!r} line {line_no} is not valid JSON: {str(exc)[:200]}") from None


def _pick(obj: Any, rel: str, where: str, columns: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise DatasetError(f"{rel!r} {where} is not a JSON object")
    if any(c not in obj for c in columns):
        raise _missing(rel, columns, list(obj))
    return {c: obj[c] for c in columns}


def _jsonl_rows(
    path: Path, rel: str, columns: tuple[str, ...], budget: _Budget, limits: DataLimits
) -> Iterator[dict[str, Any]]:
    with _open_counted(path, budget) as raw:
        line_no = 0
        while True:
            line = raw.readline(limits.max_cell_bytes + 1)
            if not line:
                return
            line_no += 1
            if len(line) > limits.max_cell_bytes:
                raise ResourceLimitError(f"{rel!r} line {line_no} is longer than {limits.max_cell_bytes} bytes")
            if not line.strip():
                continue
            yield _pick(_json_value(line, rel, line_no), rel, f"line {line_no}", columns)


def _json_rows(
    path: Path, rel: str, columns: tuple[str, ...], budget: _Budget, limits: DataLimits
) -> Iterator[dict[str, Any]]:
    """``.json`` is JSON Lines unless it starts with ``[`` (one array of objects), as in the
    ``datasets`` library. An array is parsed whole, so its size is charged up front."""
    with _open_nofollow(path) as probe:
        is_array = probe.read(64).lstrip().startswith(b"[")
    if not is_array:
        yield from _jsonl_rows(path, rel, columns, budget, limits)
        return
    with _open_counted(path, budget) as raw:
        data = raw.read()
    value = _json_value(data, rel, 1)
    if not isinstance(value, list):
        raise DatasetError(f"{rel!r} is not a JSON array of objects")
    for i, obj in enumerate(value):
        yield _pick(obj, rel, f"item {i}", columns)


def _parquet_rows(path: Path, rel: str, columns: tuple[str, ...], budget: _Budget) -> Iterator[dict[str, Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        with _open_nofollow(path) as handle:
            # Thrift limits bound the footer a hostile file can make pyarrow decode.
            pf = pq.ParquetFile(handle, thrift_string_size_limit=64 * 1024**2, thrift_container_size_limit=1_000_000)
            names = pf.schema_arrow.names
            if any(c not in names for c in columns):
                raise _missing(rel, columns, names)
            meta = pf.metadata
            for g in range(meta.num_row_groups):
                # Charge a row group's uncompressed size (of the columns read) before decoding
                # it, so a compression bomb stops here rather than in memory.
                group = meta.row_group(g)
                budget.spend(
                    sum(
                        group.column(i).total_uncompressed_size
                        for i in range(group.num_columns)
                        if group.column(i).path_in_schema.split(".")[0] in columns
                    )
                )
                table = pf.read_row_group(g, columns=list(columns))
                for batch in table.to_batches(max_chunksize=1024):
                    data = batch.to_pydict()
                    for i in range(batch.num_rows):
                        yield {c: data[c][i] for c in columns}
    except (pa.ArrowException, OSError) as exc:
        raise DatasetError(f"{rel!r} is not a readable Parquet file: {str(exc)[:200]}") from None
