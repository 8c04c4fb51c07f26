"""The job sandbox: a child process under bubblewrap with no network, read-only inputs,
rlimits, a wall clock and cancellation, and nothing left running afterwards.

The hostile behaviour comes from ``jobs.runners.selfcheck`` probes; where it matters, the
same probe is run without the sandbox as a control, to show the probe would succeed."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import time
import uuid
from contextlib import nullcontext
from pathlib import Path

import pytest

from jobs.sandbox import (
    SandboxError,
    SandboxJob,
    SandboxLimits,
    SandboxOutcome,
    SandboxRuntime,
    SandboxUnavailable,
    run_job,
    sandbox_problem,
)
from tests.live import wait_for

PROBLEM = sandbox_problem()
needs_bwrap = pytest.mark.skipif(PROBLEM is not None, reason=f"job sandbox unavailable here: {PROBLEM}")
needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="the uid switch and RLIMIT_NPROC apply when the worker is root"
)

LIMITS = SandboxLimits(
    wall_seconds=60, memory_bytes=1024**3, cpu_seconds=60, cancel_grace_seconds=1.0, tmp_bytes=16 * 1024**2
)


def make_job(tmp_path: Path, runner: str, **params) -> SandboxJob:
    (tmp_path / "in").mkdir(exist_ok=True)
    (tmp_path / "in" / "data.txt").write_text("input")
    (tmp_path / "out").mkdir(exist_ok=True)
    return SandboxJob(runner=runner, inputs={"model": tmp_path / "in"}, output_dir=tmp_path / "out", params=params)


def run(job: SandboxJob, **kwargs) -> SandboxOutcome:
    kwargs.setdefault("limits", LIMITS)
    return run_job(job, **kwargs)


def processes_with(token: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if token.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.append(int(pid))
            except OSError:
                pass
    return found


@needs_bwrap
def test_the_job_sees_a_minimal_unprivileged_world(tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_SECRET_KEY", "do-not-leak")
    outcome = run(make_job(tmp_path, "selfcheck.inspect"))
    assert outcome.status == "succeeded", outcome
    assert outcome.result is not None
    info = outcome.result.info
    assert info["no_new_privs"] == "1" and int(info["cap_eff"], 16) == 0
    assert info["input_writable"] == {"model": False}
    assert info["hostname"] == "job"
    assert "HUB_SECRET_KEY" not in info["env_keys"] and "HF_HUB_OFFLINE" in info["env_keys"]
    assert outcome.result.metrics["pid"] < 10  # its own PID namespace
    if os.geteuid() == 0:
        assert outcome.result.metrics["uid"] == 65534


def listener() -> socket.socket:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.setblocking(False)
    return server


@needs_bwrap
def test_no_network_not_even_the_hosts_loopback(tmp_path):
    with listener() as server:
        port = server.getsockname()[1]
        outcome = run(make_job(tmp_path, "selfcheck.connect", host="127.0.0.1", port=port))
        assert outcome.status == "failed"
        assert "ConnectionRefusedError" in outcome.reason and "Connection refused" in outcome.reason
        with pytest.raises(BlockingIOError):
            server.accept()  # nothing reached the host
    shutil.rmtree(tmp_path / "out")
    outcome = run(make_job(tmp_path, "selfcheck.connect", host="10.255.255.1", port=80))
    assert outcome.status == "failed" and "Network is unreachable" in outcome.reason


def test_control_the_probe_connects_without_the_sandbox(tmp_path):
    with listener() as server:
        outcome = run(make_job(tmp_path, "selfcheck.connect", port=server.getsockname()[1]), sandbox=False)
        assert outcome.status == "succeeded" and not outcome.sandboxed
        server.setblocking(True)
        server.settimeout(5)
        conn, _ = server.accept()
        conn.close()


@needs_bwrap
def test_memory_limit_is_a_clear_failure(tmp_path):
    limits = SandboxLimits(wall_seconds=60, memory_bytes=512 * 1024**2, cancel_grace_seconds=1.0)
    outcome = run(make_job(tmp_path, "selfcheck.allocate", bytes=4 * 1024**3), limits=limits)
    assert outcome.status == "failed" and outcome.reason == "The run exceeded its memory limit"
    shutil.rmtree(tmp_path / "out")
    outcome = run(make_job(tmp_path, "selfcheck.allocate", bytes=128 * 1024**2), limits=limits)
    assert outcome.status == "succeeded"


@needs_bwrap
def test_file_size_limit_is_a_clear_failure(tmp_path):
    limits = SandboxLimits(wall_seconds=60, file_size_bytes=1024**2, cancel_grace_seconds=1.0)
    outcome = run(make_job(tmp_path, "selfcheck.write", bytes=3 * 1024**2), limits=limits)
    assert outcome.status == "failed" and outcome.reason == "The run exceeded its file size limit"


@needs_bwrap
@needs_root
def test_process_limit_stops_a_fork_bomb(tmp_path):
    limits = SandboxLimits(wall_seconds=60, max_processes=20, cancel_grace_seconds=1.0)
    outcome = run(make_job(tmp_path, "selfcheck.fork_many", count=200), limits=limits)
    assert outcome.status == "succeeded" and outcome.result is not None
    assert outcome.result.metrics["refused"] == 1 and outcome.result.metrics["started"] < 20


@needs_bwrap
def test_inputs_are_read_only_and_output_links_are_refused(tmp_path):
    outcome = run(make_job(tmp_path, "selfcheck.write", bytes=10, target="model"))
    assert outcome.status == "failed" and "Read-only file system" in outcome.reason
    assert not (tmp_path / "in" / "blob").exists()
    shutil.rmtree(tmp_path / "out")
    outcome = run(make_job(tmp_path, "selfcheck.write", bytes=10, link="/etc/passwd"))
    assert outcome.status == "failed" and "'link', which is not a regular file" in outcome.reason


@pytest.mark.parametrize("cooperative", [False, True], ids=["killed", "cooperative"])
@pytest.mark.parametrize("sandbox", [pytest.param(True, marks=needs_bwrap), False], ids=["sandbox", "plain"])
def test_cancel_stops_the_run_within_seconds(tmp_path, sandbox, cooperative):
    logs: list[str] = []
    asked: list[float] = []

    def is_cancelled() -> bool:
        if "sleeping" in logs and not asked:
            asked.append(time.monotonic())
        return bool(asked)

    outcome = run(
        make_job(tmp_path, "selfcheck.sleep", seconds=600, cooperative=cooperative),
        on_log=logs.append,
        is_cancelled=is_cancelled,
        sandbox=sandbox,
    )
    assert outcome.status == "cancelled" and outcome.reason == "The run was cancelled"
    assert time.monotonic() - asked[0] < LIMITS.cancel_grace_seconds + 3
    # Cooperative: the runner saw the closed control pipe and exited by itself (code 3);
    # otherwise it was killed after the grace period.
    assert (outcome.exit_code == 3) is cooperative


@pytest.mark.parametrize("cooperative", [False, True], ids=["killed", "cooperative"])
@needs_bwrap
def test_wall_clock_timeout(tmp_path, cooperative):
    limits = SandboxLimits(wall_seconds=3, cancel_grace_seconds=1.0)
    outcome = run(make_job(tmp_path, "selfcheck.sleep", seconds=600, cooperative=cooperative), limits=limits)
    assert outcome.status == "timed_out" and outcome.seconds < 8
    if cooperative:  # the runner's own deadline (wall clock minus a margin) fired first
        assert outcome.reason == "The run exceeded its time limit"
    else:
        assert outcome.reason == "The run took longer than its limit of 3 s and was stopped"


@needs_bwrap
def test_every_process_is_gone_after_a_cancel(tmp_path):
    """The probe starts a grandchild in a new session (out of reach of a process-group kill);
    killing bwrap tears down its PID namespace, grandchild included."""
    token = f"job-probe-{uuid.uuid4()}"
    progress: list[tuple[float, int]] = []
    seen: list[int] = []

    def is_cancelled() -> bool:
        if not seen:
            seen.extend(processes_with(token))
        return bool(seen)

    outcome = run(
        make_job(tmp_path, "selfcheck.spawn", token=token),
        is_cancelled=is_cancelled,
        on_progress=lambda fraction, step, metrics: progress.append((fraction, step)),
    )
    assert outcome.status == "cancelled"
    assert seen, "the grandchild never appeared"
    assert progress == [(0.5, 1)]
    wait_for(lambda: not processes_with(token), 10, "every job process to end with the job")


def test_missing_bwrap_refuses_unless_sandbox_false(tmp_path):
    runtime = SandboxRuntime(bwrap=str(tmp_path / "no-such-bwrap"))
    with pytest.raises(SandboxUnavailable, match=r"not installed.*apt-get install -y bubblewrap.*sandbox=False"):
        run(make_job(tmp_path, "selfcheck.inspect"), runtime=runtime)
    outcome = run(make_job(tmp_path, "selfcheck.inspect"), runtime=runtime, sandbox=False)
    assert outcome.status == "succeeded" and outcome.result is not None
    assert outcome.result.metrics["uid"] == os.getuid()  # unsandboxed: no uid switch either


def test_a_bwrap_that_cannot_create_namespaces_is_a_clear_refusal(tmp_path):
    fake = tmp_path / "bwrap"
    fake.write_text(
        "#!/bin/sh\necho 'bwrap: No permissions to creating new namespace, likely because the kernel does not "
        "allow non-privileged user namespaces.' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    with pytest.raises(
        SandboxUnavailable, match="cannot create the job sandbox here.*No permissions to creating new namespace"
    ):
        run(make_job(tmp_path, "selfcheck.inspect"), runtime=SandboxRuntime(bwrap=str(fake)))


def test_directories_are_checked_before_starting(tmp_path):
    job = make_job(tmp_path, "selfcheck.inspect")
    (tmp_path / "out" / "left-over").write_text("x")
    with pytest.raises(SandboxError, match="not empty"):
        run(job, sandbox=False)
    with pytest.raises(SandboxError, match="does not exist"):
        run(SandboxJob(runner="selfcheck.inspect", inputs={}, output_dir=tmp_path / "nope"))
    (tmp_path / "out" / "left-over").unlink()
    with pytest.raises(SandboxError, match="is not a directory"):
        run(SandboxJob(runner="selfcheck.inspect", inputs={"model": tmp_path / "nope"}, output_dir=tmp_path / "out"))


@needs_bwrap
@needs_root
def test_inputs_unreadable_by_the_job_user_are_refused_up_front(tmp_path):
    job = make_job(tmp_path, "selfcheck.inspect")
    (tmp_path / "in" / "data.txt").chmod(0o600)
    with pytest.raises(SandboxError, match="data.txt is not readable by the sandbox user"):
        run(job)


def test_unknown_runner_names_are_refused_by_the_child(tmp_path):
    outcome = run(make_job(tmp_path, "os:system"), sandbox=False)
    assert outcome.status == "failed" and outcome.reason == "Unknown runner 'os:system'"


@needs_bwrap
def test_evaluation_runs_inside_the_sandbox(classifier_dir, tmp_path):
    from jobs.runners.evaluation import evaluate_model
    from jobs.runners.model_index import DatasetSpec, EvalSpec, MetricSpec
    from tests.jobs.runners import tiny

    model = Path(shutil.copytree(classifier_dir, tmp_path / "model"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(SandboxError, match="not readable by the sandbox user") if os.geteuid() == 0 else nullcontext():
        run_job(SandboxJob(runner="evaluate", inputs={"model": model}, output_dir=tmp_path / "empty"))
    # transformers writes weights 0600 and mktemp dirs are 0700: snapshots must be readable by the job.
    for f in [model, *model.iterdir()]:
        f.chmod(f.stat().st_mode | stat.S_IROTH | stat.S_IXOTH)
    tiny.write_jsonl(tmp_path / "data" / "test.jsonl", tiny.classification_rows(40, seed=4, noise={"south": 0.4}))
    (tmp_path / "out").mkdir()
    spec = EvalSpec(
        task="text-classification",
        dataset=DatasetSpec(
            repo="a/b", split="test", input_column="text", label_column="label", group_column="dialect"
        ),
        metrics=(MetricSpec(type="accuracy"), MetricSpec(type="f1", average="macro")),
    )
    job = SandboxJob(
        runner="evaluate",
        inputs={"model": model, "dataset": tmp_path / "data"},
        output_dir=tmp_path / "out",
        params={"eval": spec.to_params()},
    )
    logs: list[str] = []
    outcome = run_job(
        job, limits=SandboxLimits(wall_seconds=120, memory_bytes=8 * 1024**3, threads=1), on_log=logs.append
    )
    assert outcome.status == "succeeded", (outcome.reason, outcome.log[-2000:])
    assert outcome.result is not None
    expected = evaluate_model(model_dir=model, dataset_dir=tmp_path / "data", spec=spec)
    assert outcome.result.metrics == pytest.approx(expected.metrics)
    assert outcome.result.by_group.keys() == expected.by_group.keys()
    for key, values in expected.by_group.items():
        assert outcome.result.by_group[key] == pytest.approx(values)
    assert outcome.result.metrics["accuracy_gap"] > 0
    assert any("Read 40 rows" in line for line in logs)


def test_event_lines_are_bounded():
    from jobs.sandbox import _Lines

    lines = _Lines(limit=10)
    assert lines.feed(b'{"a": 1}\n{"b"') == [(b'{"a": 1}', False)]
    assert lines.feed(b": 2}\n") == [(b'{"b": 2}', False)]
    # An over-long line is reported once as cut, and its remainder is skipped.
    assert lines.feed(b"x" * 25) == [(b"x" * 10, True)]
    assert lines.feed(b"yyyy\nok\n") == [(b"ok", False)]


@pytest.mark.parametrize(
    ("rc", "message"),
    [
        (-24, "CPU time limit"),
        (128 + 24, "CPU time limit"),
        (137, "killed"),
        (-11, "crashed (SIGSEGV)"),
        (1, "exit status 1"),
    ],
)
def test_exit_statuses_become_reasons(rc, message):
    from jobs.sandbox import _exit_reason

    assert message in _exit_reason(rc, LIMITS)


def test_the_web_side_modules_do_not_import_ml_libraries():
    """model_index (card validation) and the sandbox run in the web process and the worker:
    importing them must not pull in torch and friends."""
    import subprocess
    import sys

    code = (
        "import sys, jobs.sandbox, jobs.runners.model_index, jobs.runners.entry\n"
        "heavy = {'torch', 'transformers', 'peft', 'sklearn', 'fairlearn', 'pandas'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2], capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
