"""Fine-tuning jobs: asked for (API, CLI) or started by a data contribution, trained in the
sandbox (AMP, full or LoRA: `jobs.runners.finetune`), and proposed back as a pull request.

* A model opts in with a `fine_tune:` block in its card (`jobs.runners.model_index.parse_fine_tune`:
  dataset, split, method, hyperparameters). When that dataset's default branch moves (any path,
  announced by the event door), `fine_tune_on_refs_updated` submits a job for each opted-in
  model on the `gpu` queue.
* The finisher commits the run's output (safetensors through the byte door, config, tokenizer,
  the card with the measured `model-index`, training parameters and `base_model`) with
  `commit_create(create_pr=True)` - the service the API's commits use, so the push policy and
  the event door apply, and the PR is evaluated like any other (`jobs.pr_evaluation`).
* The PR's author is the hub's bot where it may open one (public models); on a private model,
  whoever asked, else the model's owner.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from django.contrib.auth.models import AnonymousUser

from accounts.models import User
from accounts.permissions import Principal
from hub.exceptions import BadRequest, RevisionNotFound, Unprocessable
from jobs.bot import hub_bot
from jobs.models import Job
from jobs.runners.base import RunnerError
from jobs.runners.model_index import FineTuneSpec, ModelIndexError, parse_fine_tune
from jobs.sandbox import SandboxOutcome
from jobs.services.lifecycle import job_submit
from repos import objects
from repos.cards import split_front_matter
from repos.events import RefsUpdated
from repos.gate import can_open_pull_request, can_read
from repos.git.errors import GitError
from repos.handles import git_repo
from repos.models import Repository, RepoType
from repos.policy.upload import MAX_REGULAR_FILE_SIZE
from repos.services.commits import AddFile, AddLfsFile, CommitHeader, CommitOperation, commit_create

logger = logging.getLogger(__name__)

MAX_CARD_BYTES = 1024 * 1024
MAX_OPTED_IN = 50  # models retrained per dataset push
_CHUNK = 1024 * 1024
LFS_SUFFIXES = (".safetensors",)


def _card_spec(repo: Repository, sha: str) -> FineTuneSpec | None:
    git = git_repo(repo)
    entry = git.get_entry(sha, "README.md")
    if entry is None or entry.type != "file" or entry.size > MAX_CARD_BYTES:
        return None
    metadata, _body, _error = split_front_matter(git.read_blob(entry.oid).decode("utf-8", "replace"))
    try:
        return parse_fine_tune(metadata)
    except RunnerError as exc:
        raise Unprocessable(f"The card's fine_tune block cannot be used: {exc}") from None


@dataclass(frozen=True, slots=True)
class FineTuneOverrides:
    """What a person asking for a run (API, CLI, the Jobs tab form) may change in the card's
    `fine_tune` block; the task, columns and metrics always come from the card."""

    dataset: str | None = None
    split: str | None = None
    method: str | None = None
    epochs: int | None = None
    learning_rate: float | None = None

    def apply(self, spec: FineTuneSpec) -> FineTuneSpec:
        """`spec` with these changes, validated by the same parser as the card (Unprocessable)."""
        params = spec.to_params()
        if self.dataset is not None and self.dataset != params["dataset"]:
            params["dataset"], params["revision"] = self.dataset, None  # the pin was the card's dataset's
        if self.split is not None:
            params["split"] = self.split
        if self.method is not None:
            params["method"] = self.method
        hyper = dict(params["hyperparameters"])
        if self.epochs is not None:
            hyper["epochs"] = self.epochs
        if self.learning_rate is not None:
            hyper["learning_rate"] = self.learning_rate
        params["hyperparameters"] = hyper
        try:
            return FineTuneSpec.from_params(params)
        except ModelIndexError as exc:
            problems = "; ".join(f"{where}: {why}" for where, why in exc.problems[:20])
            raise Unprocessable(f"These fine-tuning parameters cannot be used: {problems}") from None


def fine_tune_request(*, repo: Repository, revision: str, user: User | None,
                      reader: Principal | None = None, overrides: FineTuneOverrides | None = None) -> Job:
    """Fine-tune `repo` at `revision` as its card's `fine_tune` block says, with `overrides`
    (dataset, split, method, epochs, learning rate) where given. The dataset must be readable
    by `reader` (by default `user`). Raises RevisionNotFound, Unprocessable (no usable block,
    bad overrides) or BadRequest (dataset not readable)."""
    if repo.repo_type != RepoType.MODEL:
        raise BadRequest("Only model repositories can be fine-tuned")
    try:
        sha = git_repo(repo).resolve(revision)
    except GitError:
        raise RevisionNotFound(f"Invalid rev id: {revision}") from None
    spec = _card_spec(repo, sha)
    if spec is None:
        raise Unprocessable(f"Nothing to fine-tune at {revision}: the card has no fine_tune block")
    if overrides is not None:
        spec = overrides.apply(spec)
    namespace, _, name = spec.dataset.repo.partition("/")
    dataset = Repository.objects.filter(repo_type=RepoType.DATASET, namespace=namespace, name=name).first()
    who = reader if reader is not None else (user or AnonymousUser())
    if dataset is None or not can_read(who, dataset):
        raise BadRequest(f"Dataset {spec.dataset.repo} named by the fine_tune block is not on this hub")
    try:
        data_sha = git_repo(dataset).resolve(spec.dataset.revision or dataset.default_branch)
    except GitError:
        raise BadRequest(f"Dataset {spec.dataset.repo} has no revision "
                         f"{spec.dataset.revision or dataset.default_branch}") from None
    return job_submit(
        kind=Job.Kind.FINETUNE, repo=repo, revision=sha, created_by=user,
        params={"dataset": {"id": dataset.pk, "repo_id": dataset.repo_id, "revision": data_sha},
                "runner_params": {"fine_tune": spec.to_params(), "base_model": repo.repo_id, "amp": True},
                "target_branch": repo.default_branch},
    )


def default_reader(model: Repository) -> Principal:
    """Who must be able to read the dataset of a run nobody asked for (a push, an operator):
    readers of the model see the job, so the dataset must be readable by all of them."""
    return model.owner if model.private and model.owner else AnonymousUser()


def fine_tune_on_refs_updated(event: RefsUpdated) -> None:
    """Subscriber: a dataset's default branch moved -> retrain the models that opted in."""
    repo = event.repo
    if repo.repo_type != RepoType.DATASET:
        return
    change = event.change_of(f"refs/heads/{repo.default_branch}")
    if change is None or change.new is None:
        return
    models = Repository.objects.filter(repo_type=RepoType.MODEL, disabled=False,
                                       card_data__fine_tune__dataset=repo.repo_id)[:MAX_OPTED_IN]
    for model in models:
        try:
            fine_tune_request(repo=model, revision=model.default_branch, user=None, reader=default_reader(model))
        except Exception as exc:  # one model's bad card must not stop the others
            logger.info("fine-tuning %s after a push to %s not started: %s", model.repo_id, repo.repo_id, exc)


def _pr_author(job: Job) -> User:
    bot = hub_bot()
    repo = job.repository
    if can_open_pull_request(bot, repo):
        return bot
    if job.created_by is not None and can_open_pull_request(job.created_by, repo):
        return job.created_by
    assert repo.owner is not None
    return repo.owner


def _chunks(f: BinaryIO) -> Iterator[bytes]:
    while chunk := f.read(_CHUNK):
        yield chunk


def _operation(repo: Repository, root: Path, rel: str) -> CommitOperation:
    path = root / rel
    size = path.stat().st_size
    if not rel.endswith(LFS_SUFFIXES) and size <= MAX_REGULAR_FILE_SIZE:
        return AddFile(path=rel, content=path.read_bytes())
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in _chunks(f):
            digest.update(chunk)
    with open(path, "rb") as f:
        objects.ingest(repo=repo, oid=digest.hexdigest(), size=size, source=_chunks(f))
    return AddLfsFile(path=rel, oid=digest.hexdigest(), size=size)


def fine_tune_finisher(job: Job, outcomes: dict[str, SandboxOutcome], work: Path) -> dict[str, Any] | None:
    """Propose the trained model (the validated files of `work`/train) as a pull request."""
    outcome = outcomes.get("train")
    if outcome is None or outcome.status != "succeeded" or outcome.result is None:
        return None
    root = work / "train"
    repo = job.repository
    operations = [_operation(repo, root, f.path) for f in outcome.files]
    spec = FineTuneSpec.from_params(job.params["runner_params"]["fine_tune"])
    metrics = ", ".join(f"{k} {v:.4f}" for k, v in outcome.result.metrics.items() if not k.endswith("_gap"))
    header = CommitHeader(
        summary=f"Fine-tune on {spec.dataset.repo} ({spec.method})",
        description=(f"Trained by the hub (job {job.pk}) from `{job.revision[:12]}` on "
                     f"`{spec.dataset.repo}` at `{job.params['dataset']['revision'][:12]}`, split "
                     f"`{spec.dataset.split}`.\n\nMeasured: {metrics or 'no evaluation split declared'}."),
        parent_commit=job.revision)
    result = commit_create(repo=repo, user=_pr_author(job), revision=job.params.get("target_branch")
                           or repo.default_branch, header=header, operations=iter(operations),
                           create_pr=True, draft=False)
    pr = result.pull_request
    if pr is not None:
        type(job).objects.filter(pk=job.pk).update(discussion=pr)
        job.discussion = pr
    return {"pullRequest": pr.num if pr is not None else None, "commit": result.sha}
