"""Isolation probes: runners that behave like hostile job code, to check the sandbox.

They are ordinary runners (reachable only through ``entry.RUNNERS``) so the test suite and
an operator on a new machine can check the same thing: run them through ``jobs.sandbox``
and see the network, memory, process, file-size and time limits hold. None of them does
anything a runner could not do anyway; they only do it on purpose.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from typing import Any

from jobs.runners.base import RunContext, RunnerError, RunResult


def _param(ctx: RunContext, name: str, kind: Any, default: Any = None) -> Any:
    value = ctx.params.get(name, default)
    if not isinstance(value, kind):
        raise RunnerError(f"selfcheck parameter {name} must be {getattr(kind, '__name__', kind)}")
    return value


def inspect(ctx: RunContext) -> RunResult:
    """What the job can see: its uid, privileges, environment keys, whether inputs are
    writable, the hostname."""
    status = ""
    try:
        with open("/proc/self/status") as f:
            status = f.read()
    except OSError:
        pass
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    input_writable = {}
    for name, path in ctx.inputs.items():
        try:
            with open(path / ".probe", "w") as f:
                f.write("x")
            input_writable[name] = True
        except OSError:
            input_writable[name] = False
    return RunResult(
        metrics={"uid": float(os.getuid()), "pid": float(os.getpid())},
        info={
            "no_new_privs": fields.get("NoNewPrivs", "").strip(),
            "cap_eff": fields.get("CapEff", "").strip(),
            "env_keys": sorted(os.environ),
            "input_writable": input_writable,
            "hostname": socket.gethostname(),
        },
    )


def connect(ctx: RunContext) -> RunResult:
    """Open a TCP connection to ``host``:``port``; the OSError escapes like any job code's."""
    host = _param(ctx, "host", str, "127.0.0.1")
    port = _param(ctx, "port", int)
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(b"escaped\n")
    return RunResult(metrics={"connected": 1.0})


def allocate(ctx: RunContext) -> RunResult:
    """Allocate and touch ``bytes`` of memory in ``chunk``-sized blocks."""
    total = _param(ctx, "bytes", int)
    chunk = _param(ctx, "chunk", int, 64 * 1024**2)
    held = []
    done = 0
    while done < total:
        block = bytearray(chunk)
        block[::4096] = b"x" * len(block[::4096])
        held.append(block)
        done += chunk
    return RunResult(metrics={"allocated": float(done)})


def sleep(ctx: RunContext) -> RunResult:
    """Sleep ``seconds``; with ``cooperative`` it calls ``ctx.check()`` (cancellation, deadline),
    without it only a kill stops it."""
    seconds = float(_param(ctx, "seconds", int | float))
    cooperative = _param(ctx, "cooperative", bool, False)
    ctx.log("sleeping")
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cooperative:
            ctx.check()
        time.sleep(0.05)
    return RunResult(metrics={"slept": seconds})


def spawn(ctx: RunContext) -> RunResult:
    """Start a grandchild that sleeps with ``token`` on its command line (so the test can look
    for it in /proc), in a new session so a process-group kill alone would miss it; then
    sleep too."""
    token = _param(ctx, "token", str)
    subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)", token],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ctx.log("spawned")
    ctx.progress(0.5, 1, {})
    time.sleep(600)
    return RunResult(metrics={})


def fork_many(ctx: RunContext) -> RunResult:
    """Try to start ``count`` processes at once; report how many the process limit allowed."""
    count = _param(ctx, "count", int)
    children = []
    refused = 0
    for _ in range(count):
        try:
            pid = os.fork()
        except OSError:
            refused += 1
            break
        if pid == 0:  # child: wait to be reaped
            time.sleep(5)
            os._exit(0)
        children.append(pid)
    for pid in children:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    return RunResult(metrics={"started": float(len(children)), "refused": float(refused)})


def write(ctx: RunContext) -> RunResult:
    """Write ``bytes`` to ``ctx.output_dir / name`` (or to input ``target`` if given); with
    ``link``, also leave a symlink to that path in the output (outputs must refuse it)."""
    size = _param(ctx, "bytes", int)
    target = ctx.params.get("target")
    path = (ctx.input_dir(target) if isinstance(target, str) else ctx.output_dir) / _param(ctx, "name", str, "blob")
    link = ctx.params.get("link")
    if isinstance(link, str):
        os.symlink(link, ctx.output_dir / "link")
    chunk = b"\0" * (1024 * 1024)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            f.write(chunk[: min(left, len(chunk))])
            left -= len(chunk)
    return RunResult(metrics={"written": float(size)}, files=(path.name,))
