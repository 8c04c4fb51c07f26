"""Fixtures for the client-compatibility suite: real huggingface_hub / transformers processes
against the `live_hub` server (tests/live.py).

Every client runs in a subprocess (HF_ENDPOINT is read at import time), with a fresh HF_HOME,
bounded by a timeout, and prints one `COMPAT-RESULT: {json}` line that the tests assert on.
Two client interpreters: the project's own (newest huggingface_hub + transformers) and
`.venv-hf0` (huggingface_hub 0.36.2, the requests-based line transformers 4.x uses).
"""
from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.live import LiveHub, stop_process

SCRIPTS = Path(__file__).resolve().parent / "scripts"
HF0_SCRIPTS = Path(__file__).resolve().parent / "hf0_scripts"
RESULT_PREFIX = "COMPAT-RESULT: "


@dataclass(frozen=True)
class CompatUsers:
    alice: str
    alice_token: str
    bob: str
    bob_token: str


@pytest.fixture(scope="session")
def compat_users(live_hub: LiveHub) -> CompatUsers:
    """Two ordinary users of the live hub, with write tokens (names unique to this suite)."""
    alice, bob = "compat-alice", "compat-bob"
    return CompatUsers(alice=alice, alice_token=live_hub.create_user(alice),
                       bob=bob, bob_token=live_hub.create_user(bob))


def unique_suffix() -> str:
    return uuid.uuid4().hex[:10]


def run_client(python: Path | str, script: Path, *, env: dict[str, str], config: dict[str, Any] | None = None,
               work: Path, timeout: float = 180.0) -> dict[str, Any]:
    """Run `script` under `python` with `env`; return its result dict (`out`, `errors`).

    `config` is written to a JSON file passed as the first argument. A crash, a timeout or a
    missing result line fails the test with the process output.
    """
    work.mkdir(parents=True, exist_ok=True)
    args = [str(python), str(script)]
    if config is not None:
        config_path = work / f"{script.stem}-config.json"
        config_path.write_text(json.dumps(config))
        args.append(str(config_path))
    try:
        proc = subprocess.run(args, env=env, cwd=work, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{script.name} timed out after {timeout}s\n--- stdout\n{(exc.stdout or '')[-4000:]}"
                    f"\n--- stderr\n{(exc.stderr or '')[-4000:]}", pytrace=False)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX):])
    pytest.fail(f"{script.name} exited {proc.returncode} without a result\n--- stdout\n{proc.stdout[-4000:]}"
                f"\n--- stderr\n{proc.stderr[-6000:]}", pytrace=False)


class ClientSession:
    """A client process that runs one JSON command per stdin line and answers each with a result
    line: the test can look at the hub between steps while heavy imports happen only once.
    Every call is bounded; `close` ends the process (killed if it does not quit in time)."""

    def __init__(self, python: Path | str, script: Path, *, env: dict[str, str], work: Path) -> None:
        work.mkdir(parents=True, exist_ok=True)
        self.script = script
        self.stderr_path = work / f"{script.stem}.stderr"
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([str(python), str(script)], env=env, cwd=work, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._stderr, text=True,
                                     start_new_session=True)
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._output: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def call(self, command: dict[str, Any], *, timeout: float = 180.0) -> dict[str, Any]:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(command) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            self._fail(f"{self.script.name} is gone (exit {self.proc.poll()})")
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self._fail(f"{self.script.name} did not answer {command['op']!r} within {timeout}s")
            if line is None:
                self._fail(f"{self.script.name} exited {self.proc.wait(5)} during {command['op']!r}")
            if line.startswith(RESULT_PREFIX):
                return json.loads(line[len(RESULT_PREFIX):])
            self._output.append(line)

    def _fail(self, message: str) -> None:
        self.close()
        stderr = self.stderr_path.read_text(errors="replace")[-6000:]
        pytest.fail(f"{message}\n--- stdout\n" + "\n".join(self._output[-50:]) + f"\n--- stderr\n{stderr}",
                    pytrace=False)

    def close(self, timeout: float = 20.0) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.proc.stdin.close()
            except (BrokenPipeError, OSError):
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                stop_process(self.proc)
        self._stderr.close()


def client_python(request: pytest.FixtureRequest, client: str) -> Path | str:
    """The interpreter of `client` ("new" or "hf0"); hf0 skips (fails on CI) without .venv-hf0."""
    if client == "hf0":
        return request.getfixturevalue("hf0_python")
    return sys.executable


def no_errors(result: dict[str, Any], *steps: str) -> None:
    """Assert that the named steps (all steps when none are named) ran without an exception."""
    errors = result["errors"]
    failed = {s: errors[s] for s in (steps or errors) if s in errors}
    assert not failed, "client steps failed:\n" + "\n".join(f"[{k}] {v}" for k, v in failed.items())


CLIENTS = ["new", pytest.param("hf0", marks=pytest.mark.hf0)]
