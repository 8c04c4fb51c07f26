"""A data file too large for the request is previewed by the real Celery worker: its page says
"being prepared" first, then shows the table from the cache (the live hub's default inline
limit is 4 MB; this CSV is ~5 MB).

The file sits in a model repository: in a dataset repository the personal-data report
(safety) of the same 5 MB is queued first on the test's one-process worker and takes minutes
on a shared machine; the viewer reads data files of any repository the same way."""
from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

pytestmark = [pytest.mark.live, pytest.mark.worker]

UPLOAD = """
import sys
from huggingface_hub import HfApi
api = HfApi()
repo, path = sys.argv[1:3]
api.create_repo(repo)
api.upload_file(path_or_fileobj=path, path_in_repo="data/train.csv", repo_id=repo)
"""


def test_large_csv_is_prepared_by_the_worker(live_hub, live_worker, tmp_path: Path):
    user = f"dsv{uuid.uuid4().hex[:6]}"
    token = live_hub.create_user(user)
    rows = 120_000
    csv_path = tmp_path / "train.csv"
    with csv_path.open("w") as f:
        f.write("id,text,score\n")
        for i in range(rows):
            f.write(f'{i},"sentence number {i}, quoted",{i / 7:.4f}\n')
    assert csv_path.stat().st_size > 4_000_000
    repo = f"{user}/big-{uuid.uuid4().hex[:6]}"
    done = subprocess.run([sys.executable, "-c", UPLOAD, repo, str(csv_path)],
                          env=live_hub.client_env(tmp_path / "home", token), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    url = f"{live_hub.url}/{repo}/blob/main/data/train.csv"
    pages = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with urllib.request.urlopen(url, timeout=30) as response:
            html = response.read().decode()
        pages.append("pending" if "data-preview-pending" in html else "ready")
        if pages[-1] == "ready":
            break
        time.sleep(0.2)
    assert pages[0] == "pending", pages
    assert pages[-1] == "ready", (pages[-3:], live_worker.log()[-3000:])
    assert f'data-row-count="{rows}"' in html
    assert re.search(r'col-name">score<.*?data-col-type>float64<', html, re.S)
    assert "<td>sentence number 42, quoted</td>" in html
