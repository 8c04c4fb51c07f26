"""Every pull request on a model is evaluated: base and head, at their exact shas.

The event door (`repos.events`) announces that `refs/pr/N` moved; `evaluation_on_refs_updated`
reads the evaluation the card declares (`model-index`, Hugging Face convention; the base's card
wins, so a contribution is measured the way the owner asked, and a PR cannot point the hub at
another dataset), finds the dataset on this hub and submits one `evaluate` job with both
revisions. When the job ends (whatever the outcome), the hub's bot comments on the PR with
base, head and delta per metric, per-group values and the largest gap between groups, or the
reason a side could not be evaluated. `evaluation_check` is the "evaluation" merge check.

Repositories whose card declares no evaluation at either side get no comment: they have not
asked for one. Everything else that prevents the evaluation gets a comment saying why.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from accounts.models import User
from accounts.permissions import Principal
from jobs.bot import hub_bot
from jobs.models import Job
from jobs.runners.model_index import EvalSpec, read_model_index
from jobs.sandbox import SandboxOutcome
from jobs.services.lifecycle import job_submit
from repos.cards import split_front_matter
from repos.events import RefsUpdated
from repos.gate import can_read
from repos.git.errors import GitError
from repos.git.repository import GitRepo
from repos.handles import git_repo
from repos.models import Discussion, Repository, RepoType
from repos.reviews.badges import PrBadge
from repos.reviews.checks import CheckResult, MergeContext
from repos.selectors.pull_requests import PR_REF_RE

logger = logging.getLogger(__name__)

CARD = "README.md"
MAX_CARD_BYTES = 1024 * 1024
# Errors of these metrics grow when the model gets worse; every other metric shrinks.
LOWER_IS_BETTER = frozenset({"mse", "rmse", "mae"})
COMMENT_MARK = "<!-- modelhub:evaluation -->"


def evaluation_on_refs_updated(event: RefsUpdated) -> None:
    """Subscriber: a PR head moved on a model repository -> evaluate it."""
    if event.repo.repo_type != RepoType.MODEL:
        return
    for change in event.changes:
        match = PR_REF_RE.fullmatch(change.ref)
        if match is None or change.new is None:
            continue
        pr = Discussion.objects.filter(repository=event.repo, num=int(match.group(1)), is_pull_request=True).first()
        if pr is None or pr.status not in (Discussion.Status.OPEN, Discussion.Status.DRAFT):
            continue
        pr_evaluation_request(pr=pr, head=change.new, actor=event.actor)


def _card_metadata(git: GitRepo, sha: str) -> dict[str, Any] | None:
    entry = git.get_entry(sha, CARD)
    if entry is None or entry.type != "file" or entry.size > MAX_CARD_BYTES:
        return None
    metadata, _body, _error = split_front_matter(git.read_blob(entry.oid).decode("utf-8", "replace"))
    return metadata


def _spec_of(git: GitRepo, sha: str) -> tuple[EvalSpec | None, str | None]:
    """(the first usable evaluation, or None; the problems of the declaration, if any)."""
    index = read_model_index(_card_metadata(git, sha))
    if index.specs:
        return index.specs[0], None
    if index.problems:
        return None, "; ".join(f"{where}: {why}" for where, why in index.problems[:10])
    return None, None


def _dataset(spec: EvalSpec, model: Repository) -> Repository | None:
    """The dataset named by the card, if it is on this hub and readable by whoever can read the
    comment: everyone for a public model; for a private one, the model's owner. Anything else
    looks exactly like a missing dataset."""
    namespace, _, name = spec.dataset.repo.partition("/")
    dataset = Repository.objects.filter(repo_type=RepoType.DATASET, namespace=namespace, name=name).first()
    if dataset is None:
        return None
    reader: Principal = model.owner if model.private and model.owner else AnonymousUser()
    return dataset if can_read(reader, dataset) and not dataset.disabled else None


def pr_evaluation_request(*, pr: Discussion, head: str, actor: Principal | None) -> Job | None:
    """Submit the evaluation of `pr` at `head` against its target branch's current head, or
    comment why it cannot be evaluated. Returns the job, if one was submitted."""
    repo = pr.repository
    git = git_repo(repo)
    try:
        base: str | None = git.resolve(f"refs/heads/{pr.target_branch}")
    except GitError:
        base = None
    try:
        spec, problem = _spec_of(git, base) if base else (None, None)
        side = "base"
        if spec is None and problem is None:
            spec, problem = _spec_of(git, head)
            side = "head"
    except GitError:
        return None  # the head vanished (force-pushed away) since the event
    if spec is None and problem is None:
        return None  # the repository declares no evaluation: it did not ask for one
    if base is None:
        _comment(pr, _header(None, head) + "The hub could not evaluate this pull request: its target branch "
                 f"`{pr.target_branch}` does not exist.")
        return None
    if problem is not None:
        _comment(pr, _header(base, head) + f"The hub could not evaluate this pull request: the model card's "
                 f"`model-index` ({side}) cannot be used: {problem}.")
        return None
    assert spec is not None
    dataset = _dataset(spec, repo)
    if dataset is None:
        _comment(pr, _header(base, head) + "The hub could not evaluate this pull request: the dataset "
                 f"`{spec.dataset.repo}` named by the model card's `model-index` is not on this hub.")
        return None
    try:
        data_sha = git_repo(dataset).resolve(spec.dataset.revision or dataset.default_branch)
    except GitError:
        _comment(pr, _header(base, head) + "The hub could not evaluate this pull request: the dataset "
                 f"`{spec.dataset.repo}` has no revision `{spec.dataset.revision or dataset.default_branch}`.")
        return None
    return job_submit(
        kind=Job.Kind.EVALUATE, repo=repo, revision=head, base_revision=base, discussion=pr,
        created_by=actor if isinstance(actor, User) else None,
        params={"dataset": {"id": dataset.pk, "repo_id": dataset.repo_id, "revision": data_sha},
                "runner_params": {"eval": spec.to_params()}, "spec_from": side},
    )


# ------------------------------------------------------------------------------ the outcome


def _values(outcome: dict[str, Any] | None) -> dict[str, float] | None:
    if not outcome or outcome.get("status") != "succeeded" or not outcome.get("result"):
        return None
    return dict(outcome["result"]["metrics"])


def _regressed(key: str, base: float, head: float) -> bool:
    tolerance = float(settings.HUB_EVAL_REGRESSION_TOLERANCE)
    metric = key.split("_", 1)[0]
    if key.endswith("_gap") or metric in LOWER_IS_BETTER:
        return head > base + tolerance
    return head < base - tolerance


def evaluation_verdict(runs: dict[str, Any]) -> str:
    """"pass" (head at least as good as base on every declared metric), "regress", or
    "error" (the head could not be evaluated). A base that cannot be evaluated does not block:
    the head is then compared with nothing and passes if it evaluates."""
    head = _values(runs.get("head"))
    if head is None:
        return "error"
    base = _values(runs.get("base"))
    if base is None:
        return "pass"
    keys = [k for k in head if not k.endswith("_gap") and k in base]
    return "regress" if any(_regressed(k, base[k], head[k]) for k in keys) else "pass"


def evaluation_finisher(job: Job, outcomes: dict[str, SandboxOutcome], work: Path) -> dict[str, Any]:
    runs = {label: {"status": o.status, "result": o.result.to_json() if o.result else None}
            for label, o in outcomes.items()}
    return {"verdict": evaluation_verdict(runs)}


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.4f}"


def _delta(base: float | None, head: float | None) -> str:
    if base is None or head is None:
        return "–"
    return f"{head - base:+.4f}"


def _header(base: str | None, head: str) -> str:
    where = f"base `{base[:12]}`, head `{head[:12]}`" if base else f"head `{head[:12]}`"
    return f"{COMMENT_MARK}\n### Evaluation by the hub\n\n{where}\n\n"


def evaluation_markdown(job: Job) -> str:
    """The bot's comment for a finished evaluation job."""
    result = job.result or {}
    runs: dict[str, Any] = result.get("runs", {})
    spec = EvalSpec.from_params(job.params["runner_params"]["eval"])
    dataset = job.params["dataset"]
    lines = [_header(job.base_revision or None, job.revision).rstrip("\n"), ""]
    lines.append(f"Task `{spec.task}` on dataset `{dataset['repo_id']}` (split `{spec.dataset.split}`, "
                 f"revision `{dataset['revision'][:12]}`), as declared by the model card's `model-index`.")
    lines.append("")
    if job.state == Job.State.CANCELLED:
        lines.append("The evaluation was cancelled.")
        return "\n".join(lines)
    for label in ("base", "head"):
        run = runs.get(label)
        if label == "base" and not job.base_revision:
            continue
        if run is None:
            lines.append(f"**{label.capitalize()} could not be evaluated**: {job.error or 'the job did not run'}")
            lines.append("")
        elif run.get("status") != "succeeded":
            lines.append(f"**{label.capitalize()} could not be evaluated**: {run.get('reason') or 'unknown reason'}")
            lines.append("")
    base, head = _values(runs.get("base")), _values(runs.get("head"))
    if base is None and head is None:
        return "\n".join(lines).rstrip() + "\n"
    keys = [m.key for m in spec.metrics]
    lines += ["| metric | base | head | delta |", "|---|---:|---:|---:|"]
    for key in keys:
        b = None if base is None else base.get(key)
        h = None if head is None else head.get(key)
        lines.append(f"| {key} | {_fmt(b)} | {_fmt(h)} | {_delta(b, h)} |")
    lines.append("")
    group_column = spec.dataset.group_column
    if group_column:
        lines += _group_lines(runs, keys, group_column)
    verdict = result.get("verdict") or evaluation_verdict(runs)
    lines.append({"pass": "**Result: pass** (no declared metric got worse)",
                  "regress": "**Result: regress** (a declared metric got worse)",
                  "error": "**Result: error** (the head could not be evaluated)"}[verdict])
    return "\n".join(lines) + "\n"


def _group_lines(runs: dict[str, Any], keys: list[str], group_column: str) -> list[str]:
    def groups(label: str) -> dict[str, dict[str, float]]:
        run = runs.get(label) or {}
        return (run.get("result") or {}).get("by_group", {}) if run.get("status") == "succeeded" else {}

    base, head = groups("base"), groups("head")
    names = sorted(set(head.get("count", {})) | set(base.get("count", {})))
    if not names:
        return []
    out = [f"Per group (`{group_column}`):", "", "| metric | group | base | head | delta |",
           "|---|---|---:|---:|---:|"]
    for key in keys:
        for name in names:
            b, h = base.get(key, {}).get(name), head.get(key, {}).get(name)
            out.append(f"| {key} | {name} | {_fmt(b)} | {_fmt(h)} | {_delta(b, h)} |")
    out.append("")
    out += ["Largest gap between groups (max - min):", "", "| metric | base | head | delta |", "|---|---:|---:|---:|"]
    base_m, head_m = _values(runs.get("base")) or {}, _values(runs.get("head")) or {}
    for key in keys:
        b, h = base_m.get(f"{key}_gap"), head_m.get(f"{key}_gap")
        out.append(f"| {key} | {_fmt(b)} | {_fmt(h)} | {_delta(b, h)} |")
    out.append("")
    return out


def _comment(pr: Discussion, text: str) -> None:
    from repos.reviews.services.discussions import event_add

    # `event_add` and not `comment_create`: the bot reports on locked PRs too, and mentions in
    # a machine-written text must not notify anyone.
    event_add(discussion=pr, kind="comment", author=hub_bot(), body=text)


def evaluation_notifier(job: Job) -> None:
    """After an evaluation job of a PR ends: the bot's comment."""
    if job.discussion_id is None:
        return
    pr = Discussion.objects.filter(pk=job.discussion_id).first()
    if pr is not None:
        _comment(pr, evaluation_markdown(job))


# ------------------------------------------------------------------------------ merge check


def latest_evaluation(pr: Discussion, head: str | None) -> Job | None:
    qs = Job.objects.filter(discussion=pr, kind=Job.Kind.EVALUATE)
    if head:
        qs = qs.filter(revision=head)
    return qs.order_by("-created_at", "-pk").first()


def evaluation_check(ctx: MergeContext) -> CheckResult:
    label = "Evaluation of the pull request passes"
    job = latest_evaluation(ctx.pr, ctx.head)
    if job is None:
        return CheckResult("evaluation", label, "pending", "The current head has not been evaluated.")
    if not job.is_final:
        return CheckResult("evaluation", label, "pending", f"The evaluation is {job.state}.")
    verdict = (job.result or {}).get("verdict")
    if job.state == Job.State.SUCCEEDED and verdict == "pass":
        return CheckResult("evaluation", label, "passed", "No declared metric got worse.")
    if verdict == "regress":
        return CheckResult("evaluation", label, "failed", "A declared metric got worse.")
    return CheckResult("evaluation", label, "failed", f"The evaluation {job.state}: {job.error or verdict}")


def evaluation_badge(pr: Discussion, head: str | None) -> PrBadge | None:
    """The PR page's badge: the latest evaluation of its current head, if there is one."""
    job = latest_evaluation(pr, head) if head else None
    if job is None:
        return None
    url = f"/jobs/{job.pk}"
    if not job.is_final:
        return PrBadge("evaluation", "Evaluation", "running", url=url)
    verdict = (job.result or {}).get("verdict")
    if job.state == Job.State.SUCCEEDED and verdict in ("pass", "regress"):
        return PrBadge("evaluation", "Evaluation", str(verdict), url=url)
    return PrBadge("evaluation", "Evaluation", "failed", detail=job.error or f"the evaluation {job.state}", url=url)
