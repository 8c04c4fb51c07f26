"""Fine-tuning asked for from the CLI (`manage.py jobs finetune`) and from the repository's
Jobs tab: both go through the API's service (`jobs.fine_tuning.fine_tune_request`) with the
same validation. Jobs are only queued here (no on_commit callbacks run): training itself is
covered by test_fine_tuning.py."""
from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from jobs.models import Job
from tests.factories import RepositoryFactory, TokenFactory, auth, commit

CARD = b"""---
fine_tune:
  method: full
  task: text-classification
  dataset: alice/sentiment
  split: train
  args: {input_column: text, label_column: label}
  hyperparameters: {learning_rate: 0.01, epochs: 2, batch_size: 16}
---
"""


@pytest.fixture
def model(alice):
    model = RepositoryFactory(owner=alice, name="tiny-clf")
    commit(model, files={"README.md": CARD})
    for name in ("sentiment", "reviews"):
        data = RepositoryFactory(owner=alice, name=name, repo_type="dataset")
        commit(data, files={"train.jsonl": b'{"text": "a", "label": 0}\n'})
    RepositoryFactory(owner=alice, name="hidden", repo_type="dataset", private=True)
    return model


def spec(job: Job) -> dict:
    return job.params["runner_params"]["fine_tune"]


def hyper(job: Job) -> tuple:
    h = spec(job)["hyperparameters"]
    return h["learning_rate"], h["epochs"], h["batch_size"]  # batch_size: still the card's


def test_cli_submits_a_job_with_the_given_parameters(model, alice):
    out = io.StringIO()
    call_command("jobs", "finetune", "alice/tiny-clf", "--dataset", "alice/reviews", "--split", "extra",
                 "--method", "lora", "--epochs", "3", "--lr", "0.002", "--as", "alice", stdout=out)
    job = Job.objects.get(pk=int(out.getvalue().strip()))
    assert (job.kind, job.state, job.created_by, job.revision) == ("finetune", "queued", alice, model.head_sha)
    ft = spec(job)
    assert (ft["dataset"], ft["split"], ft["method"]) == ("alice/reviews", "extra", "lora")
    assert hyper(job) == (0.002, 3, 16)
    assert job.params["dataset"]["repo_id"] == "alice/reviews"

    out = io.StringIO()
    call_command("jobs", "finetune", "alice/tiny-clf", stdout=out)  # the card as it is, nobody's job
    job = Job.objects.get(pk=int(out.getvalue().strip()))
    assert job.created_by is None and spec(job)["dataset"] == "alice/sentiment" and spec(job)["method"] == "full"


@pytest.mark.parametrize("args, message", [
    (["bob/nothing"], "No model repository"),
    (["alice/tiny-clf", "--as", "bob"], "bob cannot write"),
    (["alice/tiny-clf", "--as", "nobody"], "No active user"),
    (["alice/tiny-clf", "--epochs", "1000"], "fine_tune.hyperparameters.epochs"),
    (["alice/tiny-clf", "--lr", "5"], "fine_tune.hyperparameters.learning_rate"),
    (["alice/tiny-clf", "--dataset", "alice/hidden"], "is not on this hub"),
    (["alice/tiny-clf", "--dataset", "not a repo"], "fine_tune.dataset"),
    (["alice/tiny-clf", "--revision", "no-such-branch"], "Invalid rev id"),
])
def test_cli_bad_input_is_a_clear_error(model, bob, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("jobs", "finetune", *args, stdout=io.StringIO())
    assert not Job.objects.exists()


def test_cli_rejects_an_unknown_method(model):
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("jobs", "finetune", "alice/tiny-clf", "--method", "qlora", stdout=io.StringIO())


def test_writers_fine_tune_from_the_jobs_tab(model, alice, alice_client, bob_client, client):
    page = alice_client.get("/alice/tiny-clf/jobs").content.decode()
    assert 'action="/alice/tiny-clf/jobs/finetune"' in page and "csrfmiddlewaretoken" in page
    for other in (bob_client, client):
        assert "data-finetune" not in other.get("/alice/tiny-clf/jobs").content.decode()
    assert "data-finetune" not in alice_client.get("/datasets/alice/sentiment/jobs").content.decode()

    form = {"dataset": "alice/reviews", "split": "train", "method": "lora", "epochs": "4", "learning_rate": "0.001"}
    r = alice_client.post("/alice/tiny-clf/jobs/finetune", form)
    job = Job.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/jobs/{job.pk}"
    assert job.created_by == alice and spec(job)["dataset"] == "alice/reviews" and spec(job)["method"] == "lora"
    assert hyper(job) == (0.001, 4, 16)

    r = alice_client.post("/alice/tiny-clf/jobs/finetune", {**form, "epochs": "0"})
    assert r.status_code == 422 and "fine_tune.hyperparameters.epochs" in r.content.decode()
    r = alice_client.post("/alice/tiny-clf/jobs/finetune", {**form, "epochs": "many"})
    assert r.status_code == 400 and "epochs" in r.content.decode()
    assert Job.objects.count() == 1


def test_non_writers_cannot_post_the_form(model, bob_client, client, alice):
    private = RepositoryFactory(owner=alice, name="secret-model", private=True)
    commit(private, files={"README.md": CARD})
    assert bob_client.post("/alice/tiny-clf/jobs/finetune", {}).status_code == 403
    r = bob_client.post("/alice/secret-model/jobs/finetune", {})
    assert r.status_code == 404 and "secret-model" not in r.content.decode().split("<title>")[0]
    assert client.post("/alice/tiny-clf/jobs/finetune", {}).status_code in (302, 401)
    assert not Job.objects.exists()


def test_the_api_takes_the_same_parameters(model, alice, client):
    headers = auth(TokenFactory(user=alice, name="w").secret)
    url = "/api/models/alice/tiny-clf/jobs"
    r = client.post(url, {"kind": "finetune", "dataset": "alice/reviews", "method": "lora", "epochs": 5},
                    content_type="application/json", **headers)
    assert r.status_code == 202, r.content
    job = Job.objects.get(pk=r.json()["id"])
    assert spec(job)["dataset"] == "alice/reviews" and spec(job)["method"] == "lora" and hyper(job)[1] == 5
    r = client.post(url, {"kind": "finetune", "learning_rate": 7}, content_type="application/json", **headers)
    assert r.status_code == 422 and "learning_rate" in r["X-Error-Message"]
    r = client.post(url, {"kind": "evaluate", "epochs": 2}, content_type="application/json", **headers)
    assert r.status_code == 400 and "only for kind=finetune" in r["X-Error-Message"]
    assert Job.objects.count() == 1
