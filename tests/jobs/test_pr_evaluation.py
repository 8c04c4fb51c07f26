"""A stranger's pull request on a model is evaluated, base and head, and the hub's bot says so.

In-process: the event door, the subscriber, the job (eager Celery, the sandboxed runner), the
comment. The numbers are checked against scikit-learn on the models' own predictions."""
from __future__ import annotations

import pandas as pd
import pytest
import torch
from sklearn.metrics import accuracy_score, f1_score

from jobs.models import Job
from jobs.pr_evaluation import evaluation_check
from jobs.sandbox import sandbox_problem
from repos.models import Discussion, DiscussionEvent
from repos.reviews.checks import MergeContext
from tests.factories import RepositoryFactory, commit, commit_service
from tests.jobs.hubdata import csv_bytes, directory_files
from tests.jobs.runners import tiny

pytestmark = pytest.mark.skipif(sandbox_problem() is not None, reason=f"no job sandbox: {sandbox_problem()}")

CARD = b"""---
license: mit
model-index:
- name: clf
  results:
  - task: {type: text-classification}
    dataset:
      type: alice/reviews
      name: reviews
      split: test
      args: {input_column: text, label_column: label, group_column: dialect}
    metrics:
    - {type: accuracy}
    - {type: f1, args: {average: macro}}
---
# A tiny classifier
"""


@pytest.fixture
def eager():
    """Tasks run in this process when enqueued (the worker's code path, without a broker)."""
    from hub.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def _predict(model_dir, texts) -> list[int]:
    from transformers import BertForSequenceClassification

    model = BertForSequenceClassification.from_pretrained(str(model_dir)).eval()
    tok = tiny.fast_tokenizer(model_dir)
    with torch.no_grad():
        return [int(model(**tok([t], return_tensors="pt")).logits[0].argmax()) for t in texts]


def _expected(model_dir, rows) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    y = [tiny.CLASS_LABELS.index(r["label"]) for r in rows]
    p = _predict(model_dir, [r["text"] for r in rows])
    overall = {"accuracy": accuracy_score(y, p), "f1_macro": f1_score(y, p, average="macro")}
    frame = pd.DataFrame({"y": y, "p": p, "g": [r["dialect"] for r in rows]})
    groups = {str(g): {"accuracy": accuracy_score(part.y, part.p),
                       "f1_macro": f1_score(part.y, part.p, average="macro")} for g, part in frame.groupby("g")}
    return overall, groups


def _bot_comments(pr: Discussion) -> list[str]:
    return list(DiscussionEvent.objects.filter(discussion=pr, kind="comment", author__username="modelhub-bot")
                .order_by("pk").values_list("body", flat=True))


def test_a_strangers_pr_is_evaluated_and_reevaluated(alice, bob, classifier_dir, tmp_path, eager,
                                                     django_capture_on_commit_callbacks):
    rows = tiny.classification_rows(60, seed=11, noise={"north": 0.1, "south": 0.4})
    data = RepositoryFactory(owner=alice, name="reviews", repo_type="dataset")
    commit(data, files={"test.csv": csv_bytes(rows, tmp_path)}, message="Test split")
    model = RepositoryFactory(owner=alice, name="clf")
    files, lfs = directory_files(classifier_dir)
    commit(model, files={**files, "README.md": CARD}, lfs=lfs, message="Tiny classifier")

    weaker = tmp_path / "weaker"
    tiny.make_model_dir(weaker, task="text-classification", train_rows=tiny.classification_rows(24, seed=5), seed=3)
    with django_capture_on_commit_callbacks(execute=True):
        opened = commit_service(model, user=bob, lfs={"model.safetensors": (weaker / "model.safetensors").read_bytes()},
                                summary="Better weights, trust me", create_pr=True)
    pr = opened.pull_request
    job = Job.objects.get(discussion=pr)
    assert job.state == "succeeded", (job.error, job.log[-2000:])
    assert job.revision == opened.sha and job.base_revision == model.head_sha

    base, base_groups = _expected(classifier_dir, rows)
    head, head_groups = _expected(weaker, rows)
    assert base["accuracy"] != head["accuracy"]
    [comment] = _bot_comments(pr)
    for key in ("accuracy", "f1_macro"):
        assert f"| {key} | {base[key]:.4f} | {head[key]:.4f} | {head[key] - base[key]:+.4f} |" in comment, comment
        for group in ("north", "south"):
            b, h = base_groups[group][key], head_groups[group][key]
            assert f"| {key} | {group} | {b:.4f} | {h:.4f} | {h - b:+.4f} |" in comment, comment
        bgap = abs(base_groups["north"][key] - base_groups["south"][key])
        hgap = abs(head_groups["north"][key] - head_groups["south"][key])
        assert f"| {key} | {bgap:.4f} | {hgap:.4f} | {hgap - bgap:+.4f} |" in comment, comment
    verdict = "regress" if head["accuracy"] < base["accuracy"] or head["f1_macro"] < base["f1_macro"] else "pass"
    assert f"**Result: {verdict}**" in comment and job.result["verdict"] == verdict

    ctx = MergeContext(repo=model, pr=pr, rules=None, base=job.base_revision, head=opened.sha, analysis=None)
    assert evaluation_check(ctx).state == ("passed" if verdict == "pass" else "failed")

    # The stranger updates the PR with the base's own weights: re-evaluated, equal, pass.
    with django_capture_on_commit_callbacks(execute=True):
        update = commit_service(model, user=bob, revision=f"refs/pr/{pr.num}",
                                lfs={"model.safetensors": (classifier_dir / "model.safetensors").read_bytes()},
                                summary="Back to the original")
    second = Job.objects.filter(discussion=pr).order_by("-pk").first()
    assert second.pk != job.pk and second.revision == update.sha and second.state == "succeeded"
    comments = _bot_comments(pr)
    assert len(comments) == 2 and f"head `{update.sha[:12]}`" in comments[1]
    assert f"| accuracy | {base['accuracy']:.4f} | {base['accuracy']:.4f} | +0.0000 |" in comments[1]
    assert "**Result: pass**" in comments[1]
    ctx = MergeContext(repo=model, pr=pr, rules=None, base=second.base_revision, head=update.sha, analysis=None)
    assert evaluation_check(ctx).state == "passed"


def test_unevaluable_prs_get_a_reason_and_undeclared_ones_silence(alice, bob, eager,
                                                                  django_capture_on_commit_callbacks):
    plain = RepositoryFactory(owner=alice, name="plain")
    with django_capture_on_commit_callbacks(execute=True):
        opened = commit_service(plain, user=bob, files={"notes.txt": b"hi"}, create_pr=True)
    assert _bot_comments(opened.pull_request) == [] and not Job.objects.exists()

    declared = RepositoryFactory(owner=alice, name="declared")
    commit(declared, files={"README.md": CARD})  # alice/reviews does not exist
    with django_capture_on_commit_callbacks(execute=True):
        opened = commit_service(declared, user=bob, files={"notes.txt": b"hi"}, create_pr=True)
    [comment] = _bot_comments(opened.pull_request)
    assert "the dataset `alice/reviews`" in comment and "is not on this hub" in comment

    private = RepositoryFactory(owner=alice, name="reviews", repo_type="dataset", private=True)
    commit(private, files={"test.csv": b"text,label\nx,pos\n"})
    with django_capture_on_commit_callbacks(execute=True):
        opened = commit_service(declared, user=bob, files={"more.txt": b"hi"}, create_pr=True)
    [comment] = _bot_comments(opened.pull_request)  # a private dataset looks exactly like a missing one
    assert "is not on this hub" in comment

    broken = RepositoryFactory(owner=alice, name="broken")
    commit(broken, files={"README.md": b"---\nmodel-index: 3\n---\n"})
    with django_capture_on_commit_callbacks(execute=True):
        opened = commit_service(broken, user=bob, files={"x.txt": b"x"}, create_pr=True)
    [comment] = _bot_comments(opened.pull_request)
    assert "`model-index` (base) cannot be used: model-index: must be a list" in comment


def test_the_bot_name_is_reserved():
    from accounts.names import namespace_error

    assert namespace_error("modelhub-bot", kind="user") is not None
