"""Fine-tuning jobs end to end, in-process (eager Celery, the sandboxed runner): a push to an
opted-in dataset retrains the model, the result comes back as a pull request by the hub's bot,
and that PR is evaluated; LoRA through the API."""
from __future__ import annotations

import pytest
from safetensors.numpy import load_file

from jobs.models import Job
from jobs.sandbox import sandbox_problem
from repos.models import Discussion, DiscussionEvent
from tests.factories import RepositoryFactory, TokenFactory, auth, commit, commit_service
from tests.jobs.hubdata import directory_files
from tests.jobs.runners import tiny
from tests.jobs.test_pr_evaluation import eager  # noqa: F401 - fixture

pytestmark = pytest.mark.skipif(sandbox_problem() is not None, reason=f"no job sandbox: {sandbox_problem()}")


def card(method: str) -> bytes:
    return f"""---
license: mit
fine_tune:
  method: {method}
  task: text-classification
  dataset: alice/sentiment
  split: train
  eval_split: test
  args: {{input_column: text, label_column: label}}
  hyperparameters: {{learning_rate: 0.01, epochs: 2, batch_size: 16, lora_r: 4, lora_alpha: 8}}
  metrics: [{{type: accuracy}}]
---
# Retrained by the hub when alice/sentiment changes
""".encode()


def jsonl(rows, tmp_path, name) -> bytes:
    path = tmp_path / name
    tiny.write_jsonl(path, rows)
    return path.read_bytes()


@pytest.fixture
def opted_in(alice, tmp_path):
    base = tmp_path / "base"
    tiny.make_model_dir(base, task="text-classification", seed=1)
    model = RepositoryFactory(owner=alice, name="tiny-clf")
    files, lfs = directory_files(base)
    data = RepositoryFactory(owner=alice, name="sentiment", repo_type="dataset")
    commit(data, files={"test.jsonl": jsonl(tiny.classification_rows(100, seed=22), tmp_path, "test.jsonl")})
    return model, data, files, lfs, base


def test_a_push_to_an_opted_in_dataset_retrains_the_model_as_an_evaluated_pr(
        opted_in, alice, tmp_path, eager, django_capture_on_commit_callbacks):  # noqa: F811
    model, data, files, lfs, base = opted_in
    commit_service(model, files={**files, "README.md": card("full")}, lfs=lfs, summary="Opt in")
    assert not Job.objects.exists()
    train = jsonl(tiny.classification_rows(256, seed=21), tmp_path, "train.jsonl")
    with django_capture_on_commit_callbacks(execute=True):
        commit_service(data, files={"train.jsonl": train}, summary="More training data")

    ft = Job.objects.get(kind="finetune")
    assert ft.state == "succeeded", (ft.error, ft.log[-3000:])
    assert ft.queue == "gpu" and ft.created_by is None
    run = ft.result["runs"]["train"]["result"]
    assert run["info"]["training"]["precision"] == "bfloat16 autocast"
    assert run["info"]["training"]["trainable_parameters"] == run["info"]["training"]["total_parameters"]
    assert ft.curve and ft.curve[-1][0] == ft.step and ft.loss is not None
    pr = Discussion.objects.get(repository=model, num=ft.result["pullRequest"])
    assert pr.is_pull_request and pr.author.username == "modelhub-bot" and ft.discussion_id == pr.pk

    # The PR holds the trained model, its card names the base and the measured model-index.
    from repos.handles import git_repo
    git = git_repo(model)
    head = git.resolve(f"refs/pr/{pr.num}")
    readme = git.read_blob(git.get_entry(head, "README.md").oid).decode()
    assert "base_model: alice/tiny-clf" in readme and "model-index" in readme and "learning_rate" in readme
    assert {e.path for e in git.iter_files(head)} >= {"config.json", "model.safetensors", "tokenizer.json",
                                                      "README.md"}

    # ... and the PR was evaluated: the base (untrained) model against the fine-tuned head.
    ev = Job.objects.get(kind="evaluate", discussion=pr)
    assert ev.state == "succeeded", ev.error
    base_acc = ev.result["runs"]["base"]["result"]["metrics"]["accuracy"]
    head_acc = ev.result["runs"]["head"]["result"]["metrics"]["accuracy"]
    assert head_acc >= max(0.9, base_acc + 0.25), (base_acc, head_acc)
    assert head_acc == pytest.approx(run["metrics"]["accuracy"], abs=1e-9)
    comment = DiscussionEvent.objects.filter(discussion=pr, kind="comment", author__username="modelhub-bot").last()
    assert f"| accuracy | {base_acc:.4f} | {head_acc:.4f} |" in comment.body and "**Result: pass**" in comment.body


def test_lora_fine_tuning_through_the_api(opted_in, alice, bob, tmp_path, client, eager,  # noqa: F811
                                          django_capture_on_commit_callbacks):
    model, data, files, lfs, base = opted_in
    commit(data, files={"train.jsonl": jsonl(tiny.classification_rows(256, seed=21), tmp_path, "train.jsonl")})
    commit(model, files={**files, "README.md": card("lora")}, lfs=lfs)
    token = TokenFactory(user=alice, name="w").secret
    assert client.post("/api/models/alice/tiny-clf/jobs", {"kind": "finetune"}, content_type="application/json",
                       **auth(TokenFactory(user=bob, name="w").secret)).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/api/models/alice/tiny-clf/jobs", {"kind": "finetune"}, content_type="application/json",
                        **auth(token))
    assert r.status_code == 202, r.content
    job = Job.objects.get(pk=r.json()["id"])
    assert job.state == "succeeded", (job.error, job.log[-3000:])
    training = job.result["runs"]["train"]["result"]["info"]["training"]
    assert training["trainable_parameters"] < training["total_parameters"]
    pr = Discussion.objects.get(repository=model, num=job.result["pullRequest"])
    from repos.handles import git_repo
    from repos.lfs.pointer import parse_pointer
    from repos.objects import open_object
    git = git_repo(model)
    head = git.resolve(f"refs/pr/{pr.num}")
    pointer = parse_pointer(git.read_blob(git.get_entry(head, "model.safetensors").oid))
    with open_object(repo=model, oid=pointer.oid) as f:
        (tmp_path / "w.safetensors").write_bytes(f.read())
    weights = load_file(str(tmp_path / "w.safetensors"))
    assert not any("lora" in k for k in weights)  # merged into a plain model
    assert client.get(f"/api/jobs/{job.pk}").json()["pullRequest"] == pr.num
