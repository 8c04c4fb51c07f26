"""The README's quick start, run literally (issue 14 §3): its commands are read out of README.md,
so the test breaks when README and reality diverge.

In a fresh copy of the checkout (the working tree's files, no data dir, the same virtualenv):
"terminal 1" runs the first block (`make run`) with HUB_PORT set to a free port, as a user
who picked another port would; "terminal 2" is a second shell in the same checkout with none
of the hub's variables, which runs the other blocks in order: the operator commands, the
huggingface_hub snippet and git with a credential helper. Before the hub exists, the first
operator command must fail with a message naming HUB_DATA_DIR and create nothing. Both shells
get a HOME of their own: `git config --global` and `hf auth login` write there.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.live import ROOT, free_port, require_tool, wait_http

pytestmark = pytest.mark.live

README = ROOT / "README.md"
START_BOUND_S = 90  # make run: migrate, collectstatic, gunicorn and the worker
STEPS_BOUND_S = 120
STOP_BOUND_S = 45


def quickstart_blocks() -> list[str]:
    """The ```bash blocks of the README's "Quick start" section, in order."""
    text = README.read_text()
    section = text.split("\n## Quick start\n", 1)[1]
    section = re.split(r"\n#{2,3} ", section, maxsplit=1)[0]
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", section, flags=re.S)]


def copy_checkout(dest: Path) -> None:
    """The working tree's files (tracked and new, not ignored) without .git, data or venvs."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            check=True, capture_output=True, timeout=60).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in listed)):
        source = ROOT / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    venv = (ROOT / ".venv").resolve()
    (dest / ".venv").symlink_to(venv)
    # `make run` reinstalls when requirements.txt is newer than the venv's stamp: it is not.
    stamp = venv / ".installed-run"
    os.utime(dest / "requirements.txt", (stamp.stat().st_mtime - 60,) * 2)


def shell_env(tmp: Path) -> dict[str, str]:
    """A new terminal: the user's PATH and locale, a HOME of its own, none of the hub's variables."""
    home = tmp / "home"
    (tmp / "tmp").mkdir(exist_ok=True)
    home.mkdir(exist_ok=True)
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
            "TMPDIR": str(tmp / "tmp"), "GIT_CEILING_DIRECTORIES": str(tmp), "GIT_TERMINAL_PROMPT": "0",
            "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_DISABLE_UPDATE_CHECK": "1", "PYTHONDONTWRITEBYTECODE": "1"}


def started_pids(log: str) -> list[int]:
    return [int(pid) for pid in re.findall(r"started \w+ \(pid (\d+)\)", log)]


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")),
                    reason="the quick start is the embedded default (SQLite): .ci/run's first pass runs it")
def test_the_readme_quick_start_works_literally(tmp_path: Path) -> None:
    for tool in ("make", "git", "git-lfs"):
        require_tool(tool)
    if not ((ROOT / ".venv").resolve() / ".installed-run").exists():
        pytest.skip("the virtualenv was not made by `make` (no .venv/.installed-run)")
    blocks = quickstart_blocks()
    assert blocks[0] == "make run", blocks[0]
    operator_first = blocks[1].splitlines()[0]
    assert "users create" in operator_first
    checkout = tmp_path / "checkout"
    copy_checkout(checkout)
    env = shell_env(tmp_path)

    # Terminal 2 before terminal 1: a clear error, nothing created.
    early = subprocess.run(["bash", "-c", operator_first], cwd=checkout, env=env, capture_output=True, text=True,
                           timeout=60)
    assert early.returncode != 0
    assert "HUB_DATA_DIR" in early.stderr and "make run" in early.stderr, early.stderr
    assert "Traceback" not in early.stderr + early.stdout
    assert not (checkout / "data").exists()

    port = free_port()
    log_path = tmp_path / "terminal1.log"
    with open(log_path, "wb") as log:
        terminal1 = subprocess.Popen(["bash", "-c", blocks[0]], cwd=checkout,
                                     env={**env, "HUB_PORT": str(port), "HUB_STOP_GRACE": "15"},
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_http(f"{url}/api/agent-harnesses", timeout=START_BOUND_S, proc=terminal1)
        except Exception:
            raise AssertionError("make run did not serve:\n" + log_path.read_text()[-4000:]) from None
        assert f"ModelHub on {url}" in log_path.read_text()

        script = "set -euo pipefail\n" + "\n".join(blocks[1:]) + '\necho "HF_ENDPOINT=$HF_ENDPOINT"\n'
        terminal2 = subprocess.run(["bash", "-c", script], cwd=checkout, env=env, capture_output=True, text=True,
                                   timeout=STEPS_BOUND_S)
        output = terminal2.stdout + terminal2.stderr
        assert terminal2.returncode == 0, output[-6000:] + "\n--- terminal 1:\n" + log_path.read_text()[-3000:]
        assert f"HF_ENDPOINT={url}" in terminal2.stdout  # found without HUB_PORT
        assert "created" in terminal2.stdout and "downloaded" in terminal2.stdout
        assert "'weights.bin'" in terminal2.stdout and "'README.md'" in terminal2.stdout

        home = Path(env["HOME"])
        clone = home / "tiny-model"
        assert (clone / "weights.bin").read_bytes() == b"\0" * 1024 * 1024  # smudged by git-lfs
        assert (clone / "README.md").read_text() == "# Tiny model\n"
        token = re.search(r"hf_\w+", (home / ".git-credentials").read_text())
        assert token is not None  # the credential helper holds it...
        assert token.group(0) not in (clone / ".git" / "config").read_text()  # ...the clone does not
        assert token.group(0) not in output
    finally:
        # Ctrl-C in terminal 1: the signal reaches its foreground process group.
        if terminal1.poll() is None:
            os.killpg(terminal1.pid, signal.SIGINT)
        try:
            terminal1.wait(STOP_BOUND_S)
        except subprocess.TimeoutExpired:
            os.killpg(terminal1.pid, signal.SIGKILL)
            terminal1.wait(10)
        log = log_path.read_text(errors="replace")
        leftovers = [pid for pid in started_pids(log) if group_alive(pid)]
        for pid in leftovers:
            os.killpg(pid, signal.SIGKILL)
    # make (and bash) die of the SIGINT as in a terminal; the hub itself stopped cleanly.
    assert "[run_hub] stopped" in log, log[-3000:]
    assert not leftovers, f"processes left running after Ctrl-C: {leftovers}"
    assert not (checkout / "data" / "run.json").exists()  # the record of the running hub is gone
