"""A tensor diff too large for the request is computed by the real Celery worker: the API
first answers the header facts with `queued`/`running` and progress, then the complete,
cached result (a pair just over the inline limit: 2 x 48 MiB of float32)."""
from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.live, pytest.mark.worker]

UPLOAD = """
import sys
from huggingface_hub import HfApi, CommitOperationAdd
api = HfApi()
repo, base, tuned = sys.argv[1:4]
api.create_repo(repo)
api.upload_file(path_or_fileobj=base, path_in_repo="model.safetensors", repo_id=repo)
api.create_commit(repo, [CommitOperationAdd("model.safetensors", tuned)], commit_message="tune", create_pr=True)
"""


def test_large_pair_is_diffed_by_the_worker(live_hub, live_worker, tmp_path: Path):
    from safetensors.numpy import save_file

    user = f"tdw{uuid.uuid4().hex[:6]}"
    token = live_hub.create_user(user)
    rng = np.random.default_rng(1)
    base = {f"layer.{i}.weight": rng.standard_normal(4 * 1024 * 1024, dtype=np.float32) for i in range(3)}
    tuned = dict(base)
    tuned["layer.1.weight"] = base["layer.1.weight"] * np.float32(1.01)
    save_file(base, str(tmp_path / "base.safetensors"))
    save_file(tuned, str(tmp_path / "tuned.safetensors"))
    repo = f"{user}/big-{uuid.uuid4().hex[:6]}"
    done = subprocess.run([sys.executable, "-c", UPLOAD, repo, str(tmp_path / "base.safetensors"),
                           str(tmp_path / "tuned.safetensors")], env=live_hub.client_env(tmp_path / "home", token),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    url = f"{live_hub.url}/api/models/{repo}/tensor-diff/main...refs%2Fpr%2F1"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    states = []
    deadline = time.monotonic() + 120
    while True:
        with urllib.request.urlopen(request, timeout=30) as response:
            [item] = json.loads(response.read())["checkpoints"]
        states.append(item["state"])
        if item["complete"] or item["state"] in ("invalid", "failed") or time.monotonic() > deadline:
            break
        # Header facts are there while the numbers are computed.
        assert {row["name"] for row in item["result"]["tensors"]} == set(base)
        assert item["progress"]["total"] == 2 * 3 * 4 * 4 * 1024 * 1024
        time.sleep(0.2)
    assert states[0] in ("queued", "running"), states
    assert item["state"] == "done", (item["state"], item["error"], live_worker.log()[-3000:])
    changed = [row["name"] for row in item["result"]["tensors"] if row["status"] == "changed"]
    assert changed == ["layer.1.weight"]
    assert item["progress"]["done"] == item["progress"]["total"]
