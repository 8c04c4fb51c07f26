"""Running a job: claim the row, materialise its snapshots, run the runner in the sandbox,
stream progress and log back to the row, and end in exactly one final state.

`job_execute` is what the Celery task calls. It owns the lifecycle (STYLE habit 10): whatever
happens inside - a runner error, a missing snapshot, no sandbox, the task's soft time limit -
the row ends `succeeded`, `failed` (with a reason a user can read) or `cancelled`. Only the
death of the worker process itself escapes it; then the redelivered task or the reaper
(`lifecycle.job_reap`) finds the row `running` with its worker gone and retries or fails it.
"""
from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from jobs.models import Job, JobStateError
from jobs.sandbox import SandboxError, SandboxJob, SandboxLimits, SandboxOutcome, run_job
from jobs.services.lifecycle import job_log_append, job_requeue_orphan, worker_gone, worker_identity
from jobs.snapshots import SnapshotError, SnapshotLimits, snapshot
from repos.models import Repository
from repos.objects.encryption import repo_encrypted

logger = logging.getLogger(__name__)

MAX_CURVE_POINTS = 500
_FLUSH_SECONDS = 0.5


class JobInputError(Exception):
    """The job's inputs are gone or malformed (a deleted dataset, bad params)."""


@dataclass(frozen=True)
class RunPlan:
    """One sandboxed run of a job (an evaluation of a PR has two: base and head)."""

    label: str
    runner: str
    inputs: Mapping[str, tuple[Repository, str]]  # input name -> (repository, commit sha)
    params: Mapping[str, Any] = field(default_factory=dict)


# kind -> finisher: called with the job (still `running`) and the outcomes of its runs, before
# the final state is written; returns extra result fields (e.g. the pull request it opened).
# Registered by the modules that own those features (PR evaluation, fine-tuning).
# The third argument is the job's work directory: each run's validated output is in <work>/<label>.
Finisher = Callable[[Job, dict[str, SandboxOutcome], Path], Mapping[str, Any] | None]
# Called after the final state is written, success or not (e.g. the PR comment).
Notifier = Callable[[Job], None]
_finishers: dict[str, Finisher] = {}
_notifiers: dict[str, list[Notifier]] = {}


def register_finisher(kind: str, finisher: Finisher) -> None:
    _finishers[kind] = finisher


def register_notifier(kind: str, notifier: Notifier) -> None:
    if notifier not in _notifiers.setdefault(kind, []):
        _notifiers[kind].append(notifier)


def _dataset_input(job: Job) -> tuple[Repository, str]:
    ref = job.params.get("dataset")
    if not isinstance(ref, dict) or not isinstance(ref.get("id"), int) or not isinstance(ref.get("revision"), str):
        raise JobInputError("The job names no dataset")
    dataset = Repository.objects.filter(pk=ref["id"]).first()
    if dataset is None:
        raise JobInputError("The job's dataset repository no longer exists")
    return dataset, ref["revision"]


def plan_runs(job: Job) -> list[RunPlan]:
    """What to run for `job`, from its kind and params (validated at submission)."""
    runner_params = job.params.get("runner_params", {})
    if not isinstance(runner_params, dict):
        raise JobInputError("The job's runner parameters are malformed")
    if job.kind == Job.Kind.SELFCHECK:
        probe = job.params.get("probe", "inspect")
        if probe not in ("inspect", "sleep"):
            raise JobInputError(f"Unknown self-check probe {probe!r}")
        return [RunPlan("run", f"selfcheck.{probe}", {}, runner_params)]
    dataset = _dataset_input(job)
    if job.kind == Job.Kind.EVALUATE:
        runs = []
        if job.base_revision:
            runs.append(RunPlan("base", "evaluate", {"model": (job.repository, job.base_revision),
                                                     "dataset": dataset}, runner_params))
        runs.append(RunPlan("head", "evaluate", {"model": (job.repository, job.revision), "dataset": dataset},
                            runner_params))
        return runs
    if job.kind == Job.Kind.FINETUNE:
        return [RunPlan("train", "finetune", {"model": (job.repository, job.revision), "dataset": dataset},
                        runner_params)]
    raise JobInputError(f"Unknown job kind {job.kind!r}")


def sandbox_limits() -> SandboxLimits:
    memory = int(settings.HUB_JOB_MEMORY_BYTES)
    return SandboxLimits(wall_seconds=float(settings.HUB_JOB_WALL_SECONDS), memory_bytes=memory or None,
                         threads=settings.HUB_JOB_THREADS, cancel_grace_seconds=2.0)


class _Reporter:
    """The sandbox's callbacks for one job: progress and log lines are buffered and written
    to the row at most every `_FLUSH_SECONDS`, together with the heartbeat; the cancel flag
    is read at the same pace."""

    def __init__(self, job: Job, *, offset: float, share: float, label: str) -> None:
        self.job = job
        self.offset, self.share, self.label = offset, share, label
        self.lines: list[str] = []
        self.pending: dict[str, Any] = {}
        self.last_flush = 0.0
        self.cancelled = False

    def progress(self, fraction: float, step: int, metrics: Mapping[str, float]) -> None:
        self.pending.update(progress=self.offset + self.share * fraction, step=step, metrics=dict(metrics))
        loss = metrics.get("loss")
        if loss is not None:
            self.pending["loss"] = loss
            curve = list(self.job.curve) + [[step, loss]]
            if len(curve) > MAX_CURVE_POINTS:
                curve = curve[::2]
            self.job.curve = curve
            self.pending["curve"] = curve

    def log(self, line: str) -> None:
        self.lines.append(f"[{self.label}] {line}" if self.label != "run" else line)

    def is_cancelled(self) -> bool:
        now = time.monotonic()
        if now - self.last_flush >= _FLUSH_SECONDS:
            self.flush()
        return self.cancelled

    def flush(self) -> None:
        self.last_flush = time.monotonic()
        fields = dict(self.pending, heartbeat_at=timezone.now())
        self.pending = {}
        Job.objects.filter(pk=self.job.pk, state=Job.State.RUNNING).update(**fields)
        for name, value in fields.items():
            setattr(self.job, name, value)
        if self.lines:
            lines, self.lines = self.lines, []
            job_log_append(job=self.job, lines=lines)
        self.cancelled = self.cancelled or bool(
            Job.objects.filter(pk=self.job.pk).values_list("cancel_requested", flat=True).first())


def _claim(job: Job) -> bool:
    """Take `job` for this process. A `running` row at delivery means an earlier delivery's
    worker died (acks_late + reject_on_worker_lost sent the message again) - unless that
    worker is still alive, which makes this a duplicate delivery to ignore."""
    me = worker_identity()
    if job.state == Job.State.RUNNING:
        if not worker_gone(job):
            logger.info("job %s is running in %s; duplicate delivery ignored", job.pk, job.worker)
            return False
        if not job_requeue_orphan(job=job, reason="The worker running this job stopped"):
            return False
    if job.state != Job.State.QUEUED:
        return False
    if job.cancel_requested:
        job.transition(Job.State.CANCELLED, error="Cancelled before it started")
        return False
    job.transition(Job.State.RUNNING, attempts=job.attempts + 1, worker=me)
    job_log_append(job=job, lines=[f"[hub] attempt {job.attempts} of {job.max_attempts} started on {me}"])
    return True


def job_execute(*, job_id: int) -> Job | None:
    """Run job `job_id` to a final state (see the module docstring). Returns the job, or None
    when it no longer exists."""
    job = Job.objects.select_related("repository").filter(pk=job_id).first()
    if job is None:
        return None
    try:
        if not _claim(job):
            return job
    except JobStateError:
        return job  # another process moved it first
    try:
        _run(job)
    except BaseException as exc:
        # Soft time limit, a bug, an interrupt: the job must not stay `running` behind us.
        reason = _failure_reason(exc)
        if not isinstance(exc, (SandboxError, SnapshotError, JobInputError)):
            logger.exception("job %s failed", job.pk)
        _finish(job, Job.State.FAILED, error=reason)
        if not isinstance(exc, Exception):
            raise
    return job


def _failure_reason(exc: BaseException) -> str:
    name = type(exc).__name__
    if name == "SoftTimeLimitExceeded":
        return "The job exceeded the worker's time limit"
    if isinstance(exc, (SandboxError, SnapshotError, JobInputError)):
        return str(exc)
    return f"Internal error while running the job ({name}); the operators can find it in the worker log"


def _run(job: Job) -> None:
    plans = plan_runs(job)
    root = Path(settings.HUB_JOBS_DIR)
    limits = sandbox_limits()
    snap_limits = SnapshotLimits(max_bytes=int(settings.HUB_JOB_SNAPSHOT_MAX_BYTES))
    outcomes: dict[str, SandboxOutcome] = {}
    with ExitStack() as stack:
        work = Path(tempfile.mkdtemp(prefix=f"job-{job.pk}-", dir=_mkdir(_work_root(job, plans, root))))
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        for i, plan in enumerate(plans):
            reporter = _Reporter(job, offset=i / len(plans), share=1 / len(plans), label=plan.label)
            refusal = _guard_refusal(plan)
            if refusal is not None:
                outcomes[plan.label] = SandboxOutcome(status="failed", reason=refusal, result=None, sandboxed=False)
                job_log_append(job=job, lines=[f"[{plan.label}] {refusal}"])
                continue
            inputs = {name: stack.enter_context(snapshot(repo=repo, sha=sha, root=_snapshot_root(repo, root),
                                                         limits=snap_limits))
                      for name, (repo, sha) in plan.inputs.items()}
            out = work / plan.label
            out.mkdir(mode=0o755)
            sandbox_job = SandboxJob(runner=plan.runner, inputs=inputs, output_dir=out, params=plan.params,
                                     device=str(settings.HUB_JOBS_DEVICE), seed=int(job.params.get("seed", 0)))
            outcome = run_job(sandbox_job, limits=limits, on_progress=reporter.progress, on_log=reporter.log,
                              is_cancelled=reporter.is_cancelled, sandbox=bool(settings.HUB_JOBS_SANDBOX))
            reporter.flush()
            if outcome.log.strip():
                job_log_append(job=job, lines=[f"[{plan.label} output]", outcome.log[-20_000:]])
            outcomes[plan.label] = outcome
            if outcome.status == "cancelled":
                break
        result: dict[str, Any] = {"runs": {label: _outcome_json(o) for label, o in outcomes.items()}}
        finisher = _finishers.get(job.kind)
        if finisher is not None and not any(o.status == "cancelled" for o in outcomes.values()):
            result.update(finisher(job, outcomes, work) or {})
    if any(o.status == "cancelled" for o in outcomes.values()):
        _finish(job, Job.State.CANCELLED, result=result, error="Cancelled while running")
    elif all(o.status == "succeeded" for o in outcomes.values()):
        _finish(job, Job.State.SUCCEEDED, result=result, progress=1.0)
    else:
        reasons = "; ".join(f"{label}: {o.reason}" if len(outcomes) > 1 else str(o.reason)
                            for label, o in outcomes.items() if o.status != "succeeded")
        _finish(job, Job.State.FAILED, result=result, error=reasons)


def _guard_refusal(plan: RunPlan) -> str | None:
    """The reason to refuse `plan`, if a file guard (settings HUB_JOB_FILE_GUARDS, dotted paths
    of `guard(repo, sha) -> set of paths`, e.g. the safety scanner's verdicts) flags a file of
    one of its inputs. The runners' safe loading (safetensors only, no remote code, no
    templates) applies anyway; this refuses before a single byte is read."""
    for repo, sha in plan.inputs.values():
        flagged: set[str] = set()
        for dotted in settings.HUB_JOB_FILE_GUARDS:
            flagged |= set(import_string(dotted)(repo, sha))
        if flagged:
            listed = ", ".join(sorted(flagged)[:10]) + (" and more" if len(flagged) > 10 else "")
            return (f"{repo.repo_id} at {sha[:12]} holds files flagged unsafe by the hub's scanner, which jobs "
                    f"never load: {listed}")
    return None


def _outcome_json(outcome: SandboxOutcome) -> dict[str, Any]:
    return {
        "status": outcome.status,
        "reason": outcome.reason,
        "result": outcome.result.to_json() if outcome.result is not None else None,
        "seconds": round(outcome.seconds, 3),
        "sandboxed": outcome.sandboxed,
    }


def _finish(job: Job, state: str, **fields: Any) -> None:
    job.refresh_from_db(fields=["state"])
    if job.state != Job.State.RUNNING:
        return
    try:
        job.transition(state, **fields)
    except JobStateError:
        return
    job_log_append(job=job, lines=[f"[hub] {state}" + (f": {job.error}" if job.error and state != "succeeded" else "")])
    for notify in _notifiers.get(job.kind, []):
        try:
            notify(job)
        except Exception:
            logger.exception("notifier %r failed for job %s", notify, job.pk)


def _snapshot_root(repo: Repository, root: Path) -> Path:
    """Where a snapshot of `repo` is materialised: for a repository whose objects are encrypted
    at rest, a memory-backed directory (HUB_JOBS_PRIVATE_SNAPSHOT_DIR, a tmpfs) when configured,
    so its plaintext never reaches the data disk; bounded by HUB_JOB_SNAPSHOT_MAX_BYTES."""
    private_root = str(getattr(settings, "HUB_JOBS_PRIVATE_SNAPSHOT_DIR", "") or "")
    if private_root and repo_encrypted(repo):
        return Path(private_root)
    return root / "snapshots"


def _work_root(job: Job, plans: Sequence[RunPlan], root: Path) -> Path:
    """Where a job's runs write their outputs: a fine-tuned model or metrics of a repository
    encrypted at rest are its content too (weights trained on its data), so a job that reads or
    writes one works in the memory-backed directory, like its snapshots."""
    repos = [job.repository, *(repo for plan in plans for repo, _sha in plan.inputs.values())]
    private_root = str(getattr(settings, "HUB_JOBS_PRIVATE_SNAPSHOT_DIR", "") or "")
    if private_root and any(repo_encrypted(repo) for repo in repos):
        return Path(private_root) / "work"
    return root / "work"


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
