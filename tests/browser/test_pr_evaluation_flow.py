"""A stranger's pull request evaluated end to end: a live hub, a real Celery worker, the real
huggingface_hub client and headless Chromium.

alice publishes a tiny classifier whose card declares a `model-index` on her dataset and
requires the `evaluation` merge check; bob (a stranger) proposes other weights with
`upload_file(create_pr=True)`; the worker evaluates base and head in the sandbox and the hub's
bot comments. The comment's numbers equal scikit-learn on each model's own predictions
(computed here), the PR page shows the table and the check's verdict, and bob's update of the
PR is evaluated again."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from jobs.sandbox import sandbox_problem
from tests.browser.chromium import CHROMIUM
from tests.jobs.runners import tiny
from tests.jobs.test_pr_evaluation import CARD, _expected
from tests.live import LiveHub, LiveWorker

pytestmark = [
    pytest.mark.browser, pytest.mark.live, pytest.mark.worker,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing (apt-get install chromium)"),
    pytest.mark.skipif(sandbox_problem() is not None, reason=f"no job sandbox: {sandbox_problem()}"),
]

SEED = """
import sys
from huggingface_hub import HfApi
api = HfApi()
model_dir, data_csv = sys.argv[1], sys.argv[2]
api.create_repo("alice/reviews", repo_type="dataset")
api.upload_file(path_or_fileobj=data_csv, path_in_repo="test.csv", repo_id="alice/reviews", repo_type="dataset")
api.create_repo("alice/clf")
api.upload_folder(folder_path=model_dir, repo_id="alice/clf")
"""

PROPOSE = """
import sys
from huggingface_hub import HfApi
api = HfApi()
path, name, revision = sys.argv[1], sys.argv[2], sys.argv[3]
info = api.upload_file(path_or_fileobj=path, path_in_repo=name, repo_id="alice/clf",
                       create_pr=revision == "new", revision=None if revision == "new" else revision,
                       commit_message="Other weights")
print(info.oid)
"""


def _client(hub: LiveHub, home: Path, token: str, script: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", script, *args], env=hub.client_env(home, token),
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


def _bot_comments(hub: LiveHub, count: int, timeout: float = 240) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        with urllib.request.urlopen(f"{hub.url}/api/models/alice/clf/discussions/1", timeout=30) as r:
            events = json.loads(r.read())["events"]
        bodies = [e["data"]["latest"]["raw"] for e in events
                  if e.get("type") == "comment" and e.get("author", {}).get("name") == "modelhub-bot"]
        if len(bodies) >= count or time.monotonic() > deadline:
            return bodies
        time.sleep(0.5)


def test_a_strangers_pr_is_evaluated_by_the_worker_and_shown_on_the_pr_page(
        live_hub: LiveHub, live_worker: LiveWorker, browser, tmp_path: Path) -> None:
    alice, bob = live_hub.create_user("alice"), live_hub.create_user("bob")
    rows = tiny.classification_rows(60, seed=11, noise={"north": 0.1, "south": 0.4})
    tiny.write_csv(tmp_path / "test.csv", rows)
    base_dir, weaker_dir = tmp_path / "clf", tmp_path / "weaker"
    tiny.make_model_dir(base_dir, task="text-classification", train_rows=tiny.classification_rows(400, seed=1))
    # The Hub's client validates the card: model-index metrics carry the claimed value.
    (base_dir / "README.md").write_bytes(CARD.replace(b"{type: accuracy}", b"{type: accuracy, value: 0.9}")
                                         .replace(b"args: {average: macro}}", b"args: {average: macro}, value: 0.9}"))
    tiny.make_model_dir(weaker_dir, task="text-classification", train_rows=tiny.classification_rows(24, seed=5),
                        seed=3)
    _client(live_hub, tmp_path / "alice", alice, SEED, str(base_dir), str(tmp_path / "test.csv"))
    request = urllib.request.Request(f"{live_hub.url}/api/models/alice/clf/merge-rules", method="PUT",
                                     data=json.dumps({"requiredChecks": ["evaluation"]}).encode(),
                                     headers={"Authorization": f"Bearer {alice}", "Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=30).close()

    _client(live_hub, tmp_path / "bob", bob, PROPOSE, str(weaker_dir / "model.safetensors"), "model.safetensors",
            "new")
    [comment] = _bot_comments(live_hub, 1)
    base, _ = _expected(base_dir, rows)
    head, _ = _expected(weaker_dir, rows)
    for key in ("accuracy", "f1_macro"):
        assert f"| {key} | {base[key]:.4f} | {head[key]:.4f} | {head[key] - base[key]:+.4f} |" in comment, (
            comment, live_worker.log()[-3000:])
    verdict = "regress" if head["accuracy"] < base["accuracy"] or head["f1_macro"] < base["f1_macro"] else "pass"
    assert f"**Result: {verdict}**" in comment

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto(f"{live_hub.url}/alice/clf/discussions/1")
        main = page.inner_text("main")
        assert "Evaluation by the hub" in main and f"{head['accuracy']:.4f}" in main
        check = page.locator("[data-check=evaluation]")
        assert check.get_attribute("class") == f"check check-{'passed' if verdict == 'pass' else 'failed'}"
        assert page.locator("table:has-text('accuracy')").count() >= 1  # the Markdown table is rendered

        # bob adds a note to his PR: the new head is evaluated again (same weights, same numbers).
        # (Weights pushed to refs/pr/N by the client are covered in-process by
        # tests/jobs/test_pr_evaluation.py: the client's LFS batch for an existing PR ref is
        # refused to non-writers here, a limitation of the LFS batch route.)
        (tmp_path / "notes.md").write_text("Trained on fewer rows.\n")
        _client(live_hub, tmp_path / "bob", bob, PROPOSE, str(tmp_path / "notes.md"), "notes.md", "refs/pr/1")
        comments = _bot_comments(live_hub, 2)
        assert len(comments) == 2, live_worker.log()[-3000:]
        assert f"| accuracy | {base['accuracy']:.4f} | {head['accuracy']:.4f} |" in comments[1]
        assert comments[1].split("head `")[1][:12] != comment.split("head `")[1][:12]
    finally:
        context.close()
