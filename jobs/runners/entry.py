"""Child-process entry point: ``python -m jobs.runners.entry '<json spec>'``.

Started by ``jobs.sandbox`` (inside bubblewrap, or as a plain child with ``sandbox=False``).
The spec names a runner from ``RUNNERS`` (never a free import path: the name is matched, not
resolved), its inputs, params, output directory, device, seed, time budget and two file
descriptors inherited from the parent:

* ``events_fd``: this process writes one JSON object per line (``progress``, ``log``, then
  exactly one ``result`` or ``error``). stdout/stderr are not the protocol: libraries print
  there freely and the parent keeps them as the raw log.
* ``control_fd``: the parent never writes; it closes its end to ask for cancellation, so the
  fd becomes readable (EOF). A dead parent reads the same, which is what we want.

Exit codes: 0 result, 1 internal error, 2 runner error, 3 cancelled, 4 resource limit.
"""

from __future__ import annotations

import errno
import importlib
import json
import math
import os
import select
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from jobs.runners.base import RunCancelled, RunContext, RunnerError, RunResult

RUNNERS: dict[str, str] = {
    "evaluate": "jobs.runners.evaluation:run",
    "finetune": "jobs.runners.finetune:run",
    "selfcheck.inspect": "jobs.runners.selfcheck:inspect",
    "selfcheck.connect": "jobs.runners.selfcheck:connect",
    "selfcheck.allocate": "jobs.runners.selfcheck:allocate",
    "selfcheck.sleep": "jobs.runners.selfcheck:sleep",
    "selfcheck.spawn": "jobs.runners.selfcheck:spawn",
    "selfcheck.fork_many": "jobs.runners.selfcheck:fork_many",
    "selfcheck.write": "jobs.runners.selfcheck:write",
}

EXIT_OK, EXIT_INTERNAL, EXIT_RUNNER, EXIT_CANCELLED, EXIT_RESOURCE = 0, 1, 2, 3, 4
MAX_LOG_LINE = 4000


class EventWriter:
    """JSON lines to the parent; thread-safe, never raises (a closed pipe means the parent is
    gone and the sandbox is about to kill us anyway)."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def emit(self, event: dict[str, Any]) -> None:
        line = json.dumps(event, allow_nan=False, default=str)
        with self._lock:
            try:
                self._stream.write(line + "\n")
                self._stream.flush()
            except (BrokenPipeError, ValueError, OSError):
                pass

    def progress(self, fraction: float, step: int, metrics: Mapping[str, float]) -> None:
        clean = {str(k)[:100]: float(v) for k, v in list(metrics.items())[:50] if _finite(v)}
        frac = min(1.0, max(0.0, float(fraction))) if _finite(fraction) else 0.0
        self.emit({"event": "progress", "fraction": frac, "step": int(step), "metrics": clean})

    def log(self, line: str) -> None:
        self.emit({"event": "log", "line": str(line)[:MAX_LOG_LINE]})


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


class CancelFlag:
    def __init__(self, control_fd: int | None) -> None:
        self._fd = control_fd
        self._set = False

    def set(self, *_: Any) -> None:
        self._set = True

    def __call__(self) -> bool:
        if not self._set and self._fd is not None:
            try:
                readable, _, _ = select.select([self._fd], [], [], 0)
            except (OSError, ValueError):
                readable = [self._fd]
            self._set = bool(readable)
        return self._set


def resolve_runner(name: str) -> Callable[[RunContext], RunResult]:
    target = RUNNERS.get(name)
    if target is None:
        raise RunnerError(f"Unknown runner {name!r}")
    module_name, func_name = target.split(":")
    func: Callable[[RunContext], RunResult] = getattr(importlib.import_module(module_name), func_name)
    return func


def _classify(exc: BaseException) -> tuple[str, str, int]:
    """(kind, user-facing reason, exit code) for an exception that escaped the runner."""
    if isinstance(exc, RunCancelled):
        return "cancelled", "The run was cancelled", EXIT_CANCELLED
    if isinstance(exc, RunnerError):
        code = EXIT_RESOURCE if exc.kind in ("resource", "timeout") else EXIT_RUNNER
        return exc.kind, exc.reason, code
    if isinstance(exc, MemoryError):
        return "resource", "The run exceeded its memory limit", EXIT_RESOURCE
    if isinstance(exc, OSError) and exc.errno == errno.EFBIG:
        return "resource", "The run exceeded its file size limit", EXIT_RESOURCE
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return "resource", "The run ran out of disk space", EXIT_RESOURCE
    text = str(exc)
    if isinstance(exc, RuntimeError) and ("can't allocate memory" in text or "not enough memory" in text):
        return "resource", "The run exceeded its memory limit", EXIT_RESOURCE
    return "internal", f"{type(exc).__name__}: {text[:500]}", EXIT_INTERNAL


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m jobs.runners.entry '<json spec>'", file=sys.stderr)
        return EXIT_INTERNAL
    spec = json.loads(argv[1])
    events = EventWriter(os.fdopen(int(spec["events_fd"]), "w", encoding="utf-8", buffering=1))
    cancel = CancelFlag(spec.get("control_fd"))
    signal.signal(signal.SIGTERM, cancel.set)
    # Exceeding RLIMIT_FSIZE then fails the write with EFBIG (a clear error) instead of
    # killing the process with SIGXFSZ.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    budget = spec.get("time_budget_s")
    ctx = RunContext(
        inputs={str(k): Path(v) for k, v in spec.get("inputs", {}).items()},
        params=spec.get("params", {}),
        output_dir=Path(spec["output_dir"]),
        device=str(spec.get("device", "cpu")),
        seed=int(spec.get("seed", 0)),
        progress=events.progress,
        log=events.log,
        is_cancelled=cancel,
        deadline=None if budget is None else time.monotonic() + float(budget),
    )
    try:
        result = resolve_runner(str(spec["runner"]))(ctx)
        events.emit({"event": "result", "result": result.to_json()})
        return EXIT_OK
    except BaseException as exc:  # noqa: BLE001 - every failure must reach the parent as an event
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        kind, reason, code = _classify(exc)
        if kind == "internal":
            traceback.print_exc(file=sys.stderr)
        events.emit({"event": "error", "kind": kind, "reason": reason})
        return code


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    sys.exit(main(sys.argv))
