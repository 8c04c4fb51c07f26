"""What every runner receives and returns, the errors it may raise, and the device/AMP choice.

A runner is ``run(ctx: RunContext) -> RunResult``. The context is frozen and carries only
plain values and callables, so the same runner runs in a sandboxed child process (callbacks
write JSON lines to the parent, see ``jobs.runners.entry``), in a test (callbacks append to a
list) or in a bench script. Runners never learn where they run.

This module is imported by the parent process too (``jobs.sandbox`` validates results with
``RunResult.from_json``), so torch is imported lazily, inside the device helpers only.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


class RunnerError(Exception):
    """A failure whose message is meant for the user who asked for the run ("the dataset has no
    column 'label'", "pickle weights are never loaded"). ``kind`` lets the parent classify it
    without parsing text; the message never contains a traceback."""

    kind = "runner"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnsafeModelError(RunnerError):
    """The snapshot asks for something we never do: unpickling, remote code, custom classes,
    template rendering. Raised before any of the offending bytes are interpreted."""

    kind = "unsafe"


class ResourceLimitError(RunnerError):
    """A size or time bound of the run was exceeded (rows, bytes, parameters, deadline)."""

    kind = "resource"


class DeadlineExceeded(ResourceLimitError):
    """The run's wall-clock budget is spent (the sandbox reports it as timed out)."""

    kind = "timeout"


class RunCancelled(Exception):
    """Raised by ``RunContext.check`` once cancellation was requested; not a user error."""


ProgressCallback = Callable[[float, int, Mapping[str, float]], None]
LogCallback = Callable[[str], None]


def no_progress(fraction: float, step: int, metrics: Mapping[str, float]) -> None:
    return None


def no_log(line: str) -> None:
    return None


def _never() -> bool:
    return False


@dataclass(frozen=True, kw_only=True)
class RunContext:
    """Everything a runner may use. Invariants: ``inputs`` are read-only snapshot directories
    (the sandbox mounts them read-only; runners must not write there either when unsandboxed);
    ``output_dir`` exists, is empty at start and is the only place a runner writes;
    ``deadline`` is a ``clock()`` value (``time.monotonic`` by default) after which
    ``check()`` raises."""

    inputs: Mapping[str, Path]
    params: Mapping[str, Any]
    output_dir: Path
    device: str = "cpu"
    seed: int = 0
    progress: ProgressCallback = no_progress
    log: LogCallback = no_log
    is_cancelled: Callable[[], bool] = _never
    deadline: float | None = None
    clock: Callable[[], float] = time.monotonic

    def input_dir(self, name: str) -> Path:
        try:
            return self.inputs[name]
        except KeyError:
            raise RunnerError(f"This run needs an input snapshot named {name!r}") from None

    def check(self) -> None:
        """Call between units of work (batches, steps): cooperative cancellation and the
        deadline. The sandbox kills the process anyway if this is not called in time."""
        if self.is_cancelled():
            raise RunCancelled()
        if self.deadline is not None and self.clock() > self.deadline:
            raise DeadlineExceeded("The run exceeded its time limit")


# Bounds on what a result may carry: it crosses a process boundary and ends up in the
# database and on web pages, so a runner (or code that hijacked it) cannot make it huge.
MAX_RESULT_KEYS = 256
MAX_GROUPS = 1000
MAX_KEY_CHARS = 200
MAX_LOG_LINES = 2000
MAX_LOG_LINE_CHARS = 2000
MAX_INFO_JSON_CHARS = 64 * 1024


@dataclass(frozen=True, kw_only=True)
class RunResult:
    """Outcome of a successful run.

    ``metrics``: headline numbers by metric key (``accuracy``, ``f1_macro``, ``<key>_gap``);
    ``by_group``: metric key -> group value -> number (``count`` holds group sizes);
    ``files``: paths relative to the output directory; ``info``: small JSON-able extras.
    All numbers are finite plain floats.
    """

    metrics: Mapping[str, float]
    by_group: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    files: tuple[str, ...] = ()
    log: tuple[str, ...] = ()
    info: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "metrics": dict(self.metrics),
            "by_group": {k: dict(v) for k, v in self.by_group.items()},
            "files": list(self.files),
            "log": list(self.log),
            "info": dict(self.info),
        }

    @classmethod
    def from_json(cls, data: Any) -> RunResult:
        """Rebuild a result from untrusted JSON (a child process's output), enforcing the
        bounds above; raises ``RunnerError`` on anything out of shape."""
        import json

        if not isinstance(data, dict):
            raise RunnerError("The run returned a malformed result")
        metrics = _float_map(data.get("metrics", {}), "metrics", MAX_RESULT_KEYS)
        raw_groups = data.get("by_group", {})
        if not isinstance(raw_groups, dict) or len(raw_groups) > MAX_RESULT_KEYS:
            raise RunnerError("The run returned malformed group metrics")
        by_group = {_key(k, "by_group"): _float_map(v, f"by_group.{k}", MAX_GROUPS) for k, v in raw_groups.items()}
        files = data.get("files", [])
        if (
            not isinstance(files, list)
            or len(files) > MAX_RESULT_KEYS
            or not all(isinstance(f, str) and 0 < len(f) <= 4096 for f in files)
        ):
            raise RunnerError("The run returned a malformed file list")
        log = data.get("log", [])
        if not isinstance(log, list) or not all(isinstance(x, str) for x in log):
            raise RunnerError("The run returned a malformed log")
        info = data.get("info", {})
        if not isinstance(info, dict) or len(json.dumps(info, allow_nan=False)) > MAX_INFO_JSON_CHARS:
            raise RunnerError("The run returned malformed or oversized extra information")
        return cls(
            metrics=metrics,
            by_group=by_group,
            files=tuple(files),
            log=tuple(x[:MAX_LOG_LINE_CHARS] for x in log[-MAX_LOG_LINES:]),
            info=info,
        )


def _key(value: Any, where: str) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_KEY_CHARS:
        raise RunnerError(f"The run returned a malformed key in {where}")
    return value


def _float_map(value: Any, where: str, limit: int) -> dict[str, float]:
    if not isinstance(value, dict) or len(value) > limit:
        raise RunnerError(f"The run returned malformed or too many values in {where}")
    out: dict[str, float] = {}
    for k, v in value.items():
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise RunnerError(f"The run returned a non-finite or non-numeric value in {where}")
        out[_key(k, where)] = float(v)
    return out


def finite_floats(values: Mapping[str, Any]) -> dict[str, float]:
    """Plain finite floats only (numpy scalars converted; NaN/inf dropped: JSON cannot carry
    them and a metric that is undefined for a group is simply absent)."""
    out: dict[str, float] = {}
    for k, v in values.items():
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out[str(k)] = f
    return out


# ---------------------------------------------------------------------------------------------
# Device and mixed precision


def resolve_device(requested: str = "auto") -> str:
    """``auto`` -> ``cuda`` when a GPU is usable, else ``cpu``. An explicit ``cuda`` without a
    GPU is a clear error rather than a silent 100x slower CPU run."""
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cpu":
        return "cpu"
    if requested == "cuda" or requested.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise RunnerError("A GPU was requested but none is available to this run")
        return requested
    raise RunnerError(f"Unknown device {requested!r} (expected auto, cpu or cuda)")


@dataclass(frozen=True, slots=True)
class AmpPolicy:
    """How one device runs mixed precision. ``dtype`` None means plain fp32 (autocast off).

    CUDA: bf16 autocast where the GPU supports it (same exponent range as fp32, so no loss
    scaling), else fp16 autocast with a GradScaler (fp16 gradients underflow without it).
    CPU: bf16 autocast, never a scaler (CPU autocast has no fp16 path worth using).
    """

    device_type: str
    dtype: str | None
    use_grad_scaler: bool

    @property
    def enabled(self) -> bool:
        return self.dtype is not None

    def torch_dtype(self) -> torch.dtype | None:
        import torch

        return None if self.dtype is None else getattr(torch, self.dtype)

    def autocast(self) -> AbstractContextManager[Any]:
        import torch

        if self.dtype is None:
            return torch.autocast(device_type=self.device_type, enabled=False)
        return torch.autocast(device_type=self.device_type, dtype=self.torch_dtype(), enabled=True)

    def grad_scaler(self) -> torch.amp.GradScaler:
        """A scaler that is a no-op when disabled, so training code has a single path."""
        import torch

        return torch.amp.GradScaler(self.device_type, enabled=self.use_grad_scaler)


def amp_policy(device: str, *, enabled: bool = True) -> AmpPolicy:
    device_type = device.split(":", 1)[0]
    if not enabled:
        return AmpPolicy(device_type=device_type, dtype=None, use_grad_scaler=False)
    if device_type == "cuda":
        import torch

        if torch.cuda.is_bf16_supported():
            return AmpPolicy(device_type="cuda", dtype="bfloat16", use_grad_scaler=False)
        return AmpPolicy(device_type="cuda", dtype="float16", use_grad_scaler=True)
    if device_type == "cpu":
        return AmpPolicy(device_type="cpu", dtype="bfloat16", use_grad_scaler=False)
    return AmpPolicy(device_type=device_type, dtype=None, use_grad_scaler=False)


@contextmanager
def flush_denormals(device: str) -> Iterator[None]:
    """On CPU, treat denormal floats as zero while the block runs (restored after).

    AdamW's second-moment state and small gradients drift into the float32 denormal range,
    which x86 handles in slow microcode. Measured with bench/train_amp.py on the shared 2-core
    VM: with 2 torch threads the AMP/fp32 ratio was 1.14 and 1.61 flushed vs 0.91 and 1.16
    not flushed (very noisy, load 4-14); with 1 thread no difference (1.67 vs 1.64). Values
    below ~1e-38 do not matter to training or inference, so the runners always flush."""
    import torch

    if not device.startswith("cpu"):
        yield
        return
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def move_to(module: torch.nn.Module, device: str) -> None:
    """``module.to(device)`` in place (typed for torch modules, including transformers models,
    whose own ``to`` signature confuses type checkers)."""
    module.to(device)


def seed_everything(seed: int) -> None:
    """Python, numpy and torch RNGs (all devices). Data order is seeded separately with an
    explicit generator so it does not depend on how many random draws model init made."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
