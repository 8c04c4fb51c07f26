"""Tensor-level diff of two safetensors checkpoints (each one file or a sharded set).

Two phases, so a page can show the cheap part at once:

1. Headers only (``diff_headers``; microseconds per tensor): tensors added, removed, with a
   changed dtype or shape. No tensor byte is read.
2. Data (``diff_checkpoints``): for each tensor with the same dtype and shape on both sides,
   its bytes are compared chunk by chunk; equal bytes mean "unchanged" with no arithmetic at
   all. At the first differing chunk the pair is decoded to float64 and measured (max
   absolute difference, relative L2 change, fraction of elements changed; see
   ``TensorStats``). Shared blobs (same ``Blob.key``) and empty tensors are not read.

Memory is a pool of chunk pairs (``POOL_CHUNKS`` x 2 x ``chunk_bytes``, 1 MiB by default) plus
four work buffers of one chunk's values, whatever the checkpoint size; no file is read whole. The data phase checks
``deadline``/``should_stop`` between chunks and then returns a partial result
(``complete=False``) instead of raising, so the header facts are never lost.

Errors: invalid checkpoints raise ``CheckpointError`` subclasses (with ``side`` and ``file``;
a broken safetensors header is the ``__cause__``). ``OSError`` from openers propagates.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from repos.weights.checkpoint import (
    MAX_CHECKPOINT_TENSORS,
    Checkpoint,
    CheckpointLayout,
    read_layout,
)
from repos.weights.chunk_reader import RangeReader, chunk_array, chunks_equal
from repos.weights.safetensors_header import SafetensorsHeader, TensorInfo
from repos.weights.tensor_diff_result import (
    ADDED,
    CHANGED,
    DTYPE_CHANGED,
    NOT_COMPARED,
    REMOVED,
    SHAPE_CHANGED,
    UNCHANGED,
    TensorDiffResult,
    TensorRow,
    TensorSide,
    select_rows,
    summarize,
)
from repos.weights.tensor_numeric import PairAccumulator, TensorStats, Workspace, count_changed_bytes, is_numeric

DEFAULT_CHUNK_BYTES = 1 << 20
MIN_CHUNK_BYTES = 4096
DEFAULT_MAX_ROWS = 5_000
DEFAULT_MAX_MODULES = 2_000
# Chunk pairs in flight between reading and computing (memory: 2 x chunk_bytes each).
POOL_CHUNKS = 8
# Measure differing chunks in a helper thread while reading goes on? On the 2-core shared
# development VM it was slower (the reading side is memory-bound and the two threads fight
# over memory bandwidth and the GIL), so off by default; bench/tensor_diff.py prints both.
DEFAULT_COMPUTE_THREAD = False
# Files a diff keeps open per thread (sharded checkpoints: two shards per side is typical).
MAX_OPEN_FILES = 8

Progress = Callable[[int, int], None]


def diff_headers(
    *,
    old: Checkpoint,
    new: Checkpoint,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_modules: int = DEFAULT_MAX_MODULES,
    max_tensors: int = MAX_CHECKPOINT_TENSORS,
) -> TensorDiffResult:
    """The header-only diff: tensors with the same dtype and shape on both sides are
    ``not_compared`` (or ``unchanged`` when both sides are the same blob, by ``Blob.key``).
    Reads only headers and indexes. ``complete`` is True: nothing was cut short."""
    return diff_checkpoints(
        old=old, new=new, compare_data=False, max_rows=max_rows, max_modules=max_modules, max_tensors=max_tensors
    )


def diff_checkpoints(
    *,
    old: Checkpoint,
    new: Checkpoint,
    compare_data: bool = True,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    compute_thread: bool = DEFAULT_COMPUTE_THREAD,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_modules: int = DEFAULT_MAX_MODULES,
    max_tensors: int = MAX_CHECKPOINT_TENSORS,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> TensorDiffResult:
    """Diff ``old`` against ``new`` (see the module docstring).

    ``progress(done, total)`` is called with bytes read so far and bytes to read (both sides
    counted), at most ~100 times plus once at the end. ``deadline`` is a ``clock()`` value;
    past it, or when ``should_stop()`` is true, the data phase stops at the next chunk.
    ``compute_thread`` decodes and measures differing chunks in a helper thread while this
    one goes on reading (default: all in the calling thread; see DEFAULT_COMPUTE_THREAD). ``compare_data=False`` is
    ``diff_headers``. ``max_tensors`` bounds each side (``CheckpointError`` past it).
    """
    headers: dict[object, SafetensorsHeader] = {}
    old_layout = read_layout(old, side="old", max_tensors=max_tensors, header_cache=headers)
    new_layout = read_layout(new, side="new", max_tensors=max_tensors, header_cache=headers)

    rows: dict[str, TensorRow] = {}
    comparable: list[tuple[str, str, str]] = []  # name, old file, new file
    old_tensors, new_tensors = old_layout.tensors, new_layout.tensors
    old_shards, new_shards = old_layout.shard_of, new_layout.shard_of
    old_single, new_single = next(iter(old_layout.files), ""), next(iter(new_layout.files), "")
    shared_blobs = _shared_blobs(old_layout, new_layout)
    bytes_to_compare = 0
    # The hot loop of the header-only diff: one row and at most two sides per tensor, no other
    # object, no call it can avoid. When both sides parsed to the same header object (equal
    # header bytes), an entry is the very same TensorInfo on both sides and shares its side.
    for name in sorted(old_tensors.keys() | new_tensors.keys()):
        a = old_tensors.get(name)
        b = new_tensors.get(name)
        if a is None:
            assert b is not None
            side_b = TensorSide(b.dtype, b.shape, new_single if new_shards is None else new_shards[name])
            rows[name] = TensorRow(name, ADDED, None, side_b)
            continue
        old_file = old_single if old_shards is None else old_shards[name]
        side_a = TensorSide(a.dtype, a.shape, old_file)
        if b is None:
            rows[name] = TensorRow(name, REMOVED, side_a, None)
            continue
        new_file = new_single if new_shards is None else new_shards[name]
        side_b = side_a if a is b and old_file == new_file else TensorSide(b.dtype, b.shape, new_file)
        if a.dtype != b.dtype:
            rows[name] = TensorRow(name, DTYPE_CHANGED, side_a, side_b)
        elif a.shape != b.shape:
            rows[name] = TensorRow(name, SHAPE_CHANGED, side_a, side_b)
        elif a.offsets[0] == a.offsets[1] or (
            shared_blobs
            and (old_file, new_file) in shared_blobs
            and old_layout.start_of(name) == new_layout.start_of(name)
        ):
            rows[name] = TensorRow(name, UNCHANGED, side_a, side_b)
        else:
            rows[name] = TensorRow(name, NOT_COMPARED, side_a, side_b)
            comparable.append((name, old_file, new_file))
            bytes_to_compare += 2 * (a.offsets[1] - a.offsets[0])

    outcome = _DataOutcome()
    if compare_data and comparable:
        pending = [
            _Pair(name, old_file, old_layout.start_of(name), new_file, new_layout.start_of(name), old_tensors[name])
            for name, old_file, new_file in comparable
        ]
        outcome = _compare_data(
            pending,
            old_layout,
            new_layout,
            chunk_bytes=max(MIN_CHUNK_BYTES, chunk_bytes - chunk_bytes % 8),
            compute_thread=compute_thread,
            progress=progress,
            stop=_stop_check(should_stop, deadline, clock),
        )
        for name, stats in outcome.stats.items():
            row = rows[name]
            status = CHANGED if stats is not None else UNCHANGED
            rows[name] = TensorRow(name, status, row.old, row.new, stats)

    all_rows = list(rows.values())
    totals, modules, modules_total = summarize(all_rows, max_modules=max_modules)
    return TensorDiffResult(
        complete=outcome.interrupted is None,
        interrupted=outcome.interrupted,
        totals=totals,
        tensors=select_rows(all_rows, max_rows=max_rows),
        tensors_total=len(all_rows),
        modules=modules,
        modules_total=modules_total,
        bytes_compared=outcome.bytes_done,
        bytes_to_compare=bytes_to_compare,
        old_unlisted=old_layout.unlisted,
        new_unlisted=new_layout.unlisted,
    )


@dataclass(slots=True)
class _Pair:
    """A tensor with the same dtype and shape on both sides: where its bytes are."""

    name: str
    old_file: str
    old_start: int
    new_file: str
    new_start: int
    info: TensorInfo

    @property
    def nbytes(self) -> int:
        return self.info.offsets[1] - self.info.offsets[0]


@dataclass
class _DataOutcome:
    # name -> stats for compared tensors; None means the bytes were equal.
    stats: dict[str, TensorStats | None] = field(default_factory=dict)
    bytes_done: int = 0
    bytes_total: int = 0
    interrupted: str | None = None


def _shared_blobs(old: CheckpointLayout, new: CheckpointLayout) -> set[tuple[str, str]]:
    """(old file, new file) pairs with the same content key: equal keys promise equal files,
    so the same byte range of both is equal bytes, known without reading it."""
    by_key: dict[str, list[str]] = {}
    for name, blob in new.files.items():
        if blob.key:
            by_key.setdefault(blob.key, []).append(name)
    return {(a, b) for a, blob in old.files.items() if blob.key for b in by_key.get(blob.key, ())}


def _stop_check(
    should_stop: Callable[[], bool] | None, deadline: float | None, clock: Callable[[], float]
) -> Callable[[], str | None]:
    def check() -> str | None:
        if should_stop is not None and should_stop():
            return "cancelled"
        if deadline is not None and clock() >= deadline:
            return "deadline"
        return None

    return check


def _compare_data(
    pending: list[_Pair],
    old_layout: CheckpointLayout,
    new_layout: CheckpointLayout,
    *,
    chunk_bytes: int,
    compute_thread: bool,
    progress: Progress | None,
    stop: Callable[[], str | None],
) -> _DataOutcome:
    # This thread reads and compares bytes (memory-bound: a copy out of the page cache and a
    # memcmp); chunks that differ go to the compute side, a second thread by default, which
    # decodes and sums them while reading goes on. Buffers circulate through a fixed pool, so
    # memory stays POOL_CHUNKS chunk pairs, and reading waits when the compute side lags.
    # Old side in file order: reads are sequential on the old side, and on the new side too
    # when the layout did not change (the usual fine-tune).
    pending = sorted(pending, key=lambda p: (p.old_file, p.old_start))
    outcome = _DataOutcome(bytes_total=sum(2 * p.nbytes for p in pending))
    pool: queue.SimpleQueue[tuple[bytearray, bytearray]] = queue.SimpleQueue()
    for _ in range(POOL_CHUNKS if compute_thread else 1):
        pool.put((bytearray(chunk_bytes), bytearray(chunk_bytes)))
    readers = _Readers(old_layout, new_layout)
    compute = _Compute(pending, old_layout, new_layout, chunk_bytes=chunk_bytes, pool=pool, threaded=compute_thread)
    step = max(outcome.bytes_total // 100, 2 * chunk_bytes)
    next_report = step
    equal: list[str] = []
    try:
        for index, pair in enumerate(pending):
            old_reader, new_reader = readers.old(pair.old_file), readers.new(pair.new_file)
            size = pair.nbytes
            differs = False
            for offset in range(0, size, chunk_bytes):
                compute.raise_failure()
                outcome.interrupted = stop()
                if outcome.interrupted is not None:
                    break
                n = min(chunk_bytes, size - offset)
                old, new = pool.get()
                try:
                    old_reader.read_into(pair.old_start + offset, memoryview(old)[:n])
                    new_reader.read_into(pair.new_start + offset, memoryview(new)[:n])
                except BaseException:
                    pool.put((old, new))
                    raise
                if not differs and chunks_equal(old, new, n):
                    pool.put((old, new))
                else:
                    differs = True
                    compute.submit(index, offset, n, old, new)  # hands the buffers back when done
                outcome.bytes_done += 2 * n
                if progress is not None and outcome.bytes_done >= next_report:
                    progress(outcome.bytes_done, outcome.bytes_total)
                    next_report = outcome.bytes_done + step
            if outcome.interrupted is not None:
                break
            if not differs:
                equal.append(pair.name)
    finally:
        readers.close()
        compute.close()
    compute.raise_failure()
    outcome.stats = dict.fromkeys(equal)
    outcome.stats.update(compute.results)
    if progress is not None:
        progress(outcome.bytes_done, outcome.bytes_total)
    return outcome


class _Readers:
    """``RangeReader``s by side and file, opened on first use; at most ``MAX_OPEN_FILES`` at
    once (least recently used closed first: a checkpoint may have hundreds of shards). Each
    thread has its own (a reader keeps a file position)."""

    def __init__(self, old: CheckpointLayout, new: CheckpointLayout) -> None:
        self._layouts = {"old": old, "new": new}
        self._open: dict[tuple[str, str], RangeReader] = {}  # insertion order = recency

    def old(self, file: str) -> RangeReader:
        return self._get("old", file)

    def new(self, file: str) -> RangeReader:
        return self._get("new", file)

    def _get(self, side: str, file: str) -> RangeReader:
        reader = self._open.pop((side, file), None)
        if reader is None:
            if len(self._open) >= MAX_OPEN_FILES:
                self._open.pop(next(iter(self._open))).close()
            reader = RangeReader(self._layouts[side].files[file], side=side, file=file)
        self._open[(side, file)] = reader
        return reader

    def close(self) -> None:
        for reader in self._open.values():
            reader.close()
        self._open.clear()


_Item = tuple[int, int, int, bytearray, bytearray]  # pending index, offset, size, old, new


class _Compute:
    """The numeric side: chunks of tensors whose bytes differ, in submission order.

    Threaded, it runs in one helper thread that owns its own readers (for re-reading an equal
    prefix); otherwise ``submit`` computes inline. Buffers always go back to the pool, also
    after a failure, so the reading side can never wait forever. ``results`` holds stats of
    tensors whose last chunk was processed; a tensor cut short by a stop has none.
    """

    def __init__(self, pending: list[_Pair], old: CheckpointLayout, new: CheckpointLayout, *, chunk_bytes: int,
                 pool: queue.SimpleQueue[tuple[bytearray, bytearray]], threaded: bool) -> None:
        self.results: dict[str, TensorStats] = {}
        self._pending = pending
        self._chunk_bytes = chunk_bytes
        self._pool = pool
        self._readers = _Readers(old, new)
        self._current: _TensorState | None = None
        self._workspace = Workspace(chunk_bytes)
        self._failure: BaseException | None = None
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        if threaded:
            self._thread = threading.Thread(target=self._run, name="tensor-diff-compute", daemon=True)
            self._thread.start()

    def submit(self, index: int, offset: int, size: int, old: bytearray, new: bytearray) -> None:
        if self._thread is not None:
            self._queue.put((index, offset, size, old, new))
        else:
            self._process((index, offset, size, old, new))

    def raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        self._readers.close()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            self._process(item)

    def _process(self, item: _Item) -> None:
        index, offset, size, old, new = item
        try:
            if self._failure is None:
                state = self._current
                if state is None or state.index != index:
                    state = self._current = _TensorState(index, self._pending[index], self._workspace)
                state.add(offset, size, old, new, chunk_bytes=self._chunk_bytes, prefix_reader=self._readers.old)
                if offset + size == state.pair.nbytes:
                    stats = state.finish()
                    if stats is not None:
                        self.results[state.pair.name] = stats
                    self._current = None
        except BaseException as exc:  # re-raised by the reading side (raise_failure)
            self._failure = exc
        finally:
            self._pool.put((old, new))


class _TensorState:
    """Numeric comparison of one tensor pair whose bytes differ, from its first differing
    chunk on (earlier chunks were equal: only their norms are needed)."""

    def __init__(self, index: int, pair: _Pair, workspace: Workspace) -> None:
        self.index = index
        self.pair = pair
        self.workspace = workspace
        self.differs = False
        self.accumulator: PairAccumulator | None = None
        self.changed_bytes = 0

    def add(self, offset: int, size: int, old: bytearray, new: bytearray, *, chunk_bytes: int,
            prefix_reader: Callable[[str], RangeReader]) -> None:
        a, b = chunk_array(old, size), chunk_array(new, size)
        if self.accumulator is not None:
            self.accumulator.add(a, b)
            return
        if self.differs:  # no numeric decoding for this dtype: count bytes
            self.changed_bytes += count_changed_bytes(a, b)
            return
        self.differs = True
        dtype = self.pair.info.dtype
        if not is_numeric(dtype):
            self.changed_bytes += count_changed_bytes(a, b)
            return
        accumulator = self.accumulator = PairAccumulator(dtype, max_chunk_bytes=chunk_bytes, workspace=self.workspace)
        if offset:
            # The chunks before this one were equal and their buffers are reused by now;
            # read them again (old side only: the bytes are the same) for the norms.
            self._add_prefix(accumulator, offset, chunk_bytes, prefix_reader(self.pair.old_file))
        accumulator.add(a, b)

    def _add_prefix(self, accumulator: PairAccumulator, end: int, chunk_bytes: int, reader: RangeReader) -> None:
        buffer = bytearray(chunk_bytes)
        for offset in range(0, end, chunk_bytes):
            n = min(chunk_bytes, end - offset)
            reader.read_into(self.pair.old_start + offset, memoryview(buffer)[:n])
            accumulator.add_identical(chunk_array(buffer, n))

    def finish(self) -> TensorStats | None:
        if not self.differs:
            return None
        if self.accumulator is not None:
            return self.accumulator.finish()
        return TensorStats(
            elements=self.pair.info.num_elements,
            changed_elements=self.changed_bytes,
            max_abs_diff=None,
            l2_old=None,
            l2_new=None,
            l2_diff=None,
            rel_l2=None,
            numeric=False,
        )
