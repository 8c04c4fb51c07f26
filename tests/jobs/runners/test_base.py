"""Run context, results crossing the process boundary, device and precision choices."""

from __future__ import annotations

import math

import pytest
import torch

from jobs.runners.base import (
    DeadlineExceeded,
    RunCancelled,
    RunContext,
    RunnerError,
    RunResult,
    amp_policy,
    flush_denormals,
    resolve_device,
)


def test_check_raises_on_cancel_and_deadline(tmp_path):
    now = [100.0]
    ctx = RunContext(inputs={}, params={}, output_dir=tmp_path, deadline=150.0, clock=lambda: now[0])
    ctx.check()
    now[0] = 151.0
    with pytest.raises(DeadlineExceeded, match="time limit"):
        ctx.check()
    cancelled = RunContext(inputs={}, params={}, output_dir=tmp_path, is_cancelled=lambda: True)
    with pytest.raises(RunCancelled):
        cancelled.check()
    with pytest.raises(RunnerError, match="input snapshot named 'model'"):
        cancelled.input_dir("model")


def test_results_round_trip_and_hostile_results_are_refused():
    result = RunResult(metrics={"accuracy": 0.5}, by_group={"accuracy": {"a": 1.0}}, files=("x",), info={"n": 1})
    assert RunResult.from_json(result.to_json()) == result
    hostile = [
        None,
        {"metrics": {"accuracy": math.nan}},
        {"metrics": {"accuracy": "0.5"}},
        {"metrics": {"accuracy": True}},
        {"metrics": {f"k{i}": 1.0 for i in range(1000)}},
        {"metrics": {"x" * 500: 1.0}},
        {"metrics": {}, "by_group": {"accuracy": {"g": math.inf}}},
        {"metrics": {}, "files": ["a", 5]},
        {"metrics": {}, "info": {"blob": "x" * 100_000}},
    ]
    for data in hostile:
        with pytest.raises(RunnerError):
            RunResult.from_json(data)


def test_device_and_precision_policy():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(RunnerError, match="Unknown device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(RunnerError, match="no.*GPU|none is available"):
            resolve_device("cuda")
    off = amp_policy("cpu", enabled=False)
    assert not off.enabled and off.torch_dtype() is None
    with off.autocast():
        assert not torch.is_autocast_enabled("cpu")
    with amp_policy("cpu").autocast():
        assert torch.get_autocast_dtype("cpu") == torch.bfloat16 and torch.is_autocast_enabled("cpu")


def test_flush_denormals_is_scoped_to_cpu_blocks():
    tiny = torch.tensor([1e-40], dtype=torch.float32)  # a float32 denormal
    with flush_denormals("cpu"):
        assert (tiny * 1.0).item() == 0.0
    assert (tiny * 1.0).item() != 0.0
    with flush_denormals("cuda"):  # not touched off the CPU
        assert (tiny * 1.0).item() != 0.0
