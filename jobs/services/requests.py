"""Jobs asked for by people (API, CLI, pages), as opposed to those the hub starts itself.

An evaluation of a revision uses the evaluation its card declares (`model-index`), on a dataset
the requester can read. Submitting costs compute: the caller checks write access first.
"""
from __future__ import annotations

from accounts.models import User
from hub.exceptions import BadRequest, RevisionNotFound, Unprocessable
from jobs.models import Job
from jobs.runners.model_index import read_model_index
from jobs.services.lifecycle import job_submit
from repos.cards import split_front_matter
from repos.gate import can_read
from repos.git.errors import GitError
from repos.handles import git_repo
from repos.models import Repository, RepoType

MAX_CARD_BYTES = 1024 * 1024


def job_request_evaluation(*, repo: Repository, revision: str, user: User) -> Job:
    """Evaluate `repo` at `revision` as its card declares. Raises RevisionNotFound,
    Unprocessable (no or unusable model-index) or BadRequest (dataset not readable)."""
    if repo.repo_type != RepoType.MODEL:
        raise BadRequest("Only model repositories can be evaluated")
    git = git_repo(repo)
    try:
        sha = git.resolve(revision)
        entry = git.get_entry(sha, "README.md")
        text = git.read_blob(entry.oid).decode("utf-8", "replace") if entry and entry.size <= MAX_CARD_BYTES else ""
    except GitError:
        raise RevisionNotFound(f"Invalid rev id: {revision}") from None
    metadata, _body, _error = split_front_matter(text)
    index = read_model_index(metadata)
    if not index.specs:
        detail = "; ".join(f"{w}: {why}" for w, why in index.problems[:10]) or "the card declares no model-index"
        raise Unprocessable(f"Nothing to evaluate at {revision}: {detail}")
    spec = index.specs[0]
    namespace, _, name = spec.dataset.repo.partition("/")
    dataset = Repository.objects.filter(repo_type=RepoType.DATASET, namespace=namespace, name=name).first()
    if dataset is None or not can_read(user, dataset):
        raise BadRequest(f"Dataset {spec.dataset.repo} named by the model-index is not on this hub")
    try:
        data_sha = git_repo(dataset).resolve(spec.dataset.revision or dataset.default_branch)
    except GitError:
        raise BadRequest(f"Dataset {spec.dataset.repo} has no revision "
                         f"{spec.dataset.revision or dataset.default_branch}") from None
    return job_submit(kind=Job.Kind.EVALUATE, repo=repo, revision=sha, created_by=user,
                      params={"dataset": {"id": dataset.pk, "repo_id": dataset.repo_id, "revision": data_sha},
                              "runner_params": {"eval": spec.to_params()}})
