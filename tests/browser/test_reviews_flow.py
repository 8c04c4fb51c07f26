"""Pull-request review in a real browser (headless Chromium) against a live hub: open a PR
from the upload page with a fine-tuned checkpoint, see exactly the two fine-tuned tensors
changed, comment inline on one of them, approve as a second user (a writer; the repository
requires one approval), merge. And an XSS corpus in discussion titles and comments that must
render inert (no script runs, no event-handler attribute survives)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import numpy as np
import pytest

from tests.browser.chromium import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.live,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing (apt-get install chromium)"),
]

SEED_SCRIPT = """
import sys
from huggingface_hub import HfApi
api = HfApi()
repo, path = sys.argv[1], sys.argv[2]
api.create_repo(repo)
api.upload_file(path_or_fileobj=path, path_in_repo="model.safetensors", repo_id=repo)
api.upload_file(path_or_fileobj=b'{"hidden_size": 8}\\n', path_in_repo="config.json", repo_id=repo)
"""


@pytest.fixture
def new_page(browser):
    contexts = []

    def make():
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.errors = []  # type: ignore[attr-defined]
        page.dialogs = []  # type: ignore[attr-defined]
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        page.on("console", lambda msg: msg.type == "error" and page.errors.append(msg.text))
        page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
        return page

    yield make
    for context in contexts:
        context.close()


def _log_in(page, base: str, user: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#id_username", user)
    page.fill("#id_password", f"{user}-Pa55word!")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}/")


def _api(base: str, token: str, method: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(f"{base}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


def _weights() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    rng = np.random.default_rng(3)
    base = {f"encoder.layer.{i}.{kind}": rng.standard_normal((8, 8) if kind == "weight" else 8).astype(np.float32)
            for i in range(4) for kind in ("weight", "bias")}
    tuned = {k: v.copy() for k, v in base.items()}
    tuned["encoder.layer.1.weight"] += np.float32(0.5)
    tuned["encoder.layer.3.weight"][0] -= np.float32(0.25)
    return base, tuned


def test_open_review_and_merge_a_fine_tune_from_the_ui(live_hub, new_page, tmp_path: Path):
    from safetensors.numpy import save_file

    suffix = uuid.uuid4().hex[:6]
    owner, reviewer = f"rvowner{suffix}", f"rvwriter{suffix}"
    owner_token = live_hub.create_user(owner)
    live_hub.create_user(reviewer)
    base, tuned = _weights()
    (tmp_path / "base").mkdir()
    (tmp_path / "tuned").mkdir()
    save_file(base, str(tmp_path / "base" / "model.safetensors"))
    save_file(tuned, str(tmp_path / "tuned" / "model.safetensors"))
    repo = f"{owner}/tuned-{suffix}"
    seeded = subprocess.run([sys.executable, "-c", SEED_SCRIPT, repo, str(tmp_path / "base" / "model.safetensors")],
                            env=live_hub.client_env(tmp_path / "home", owner_token), capture_output=True, text=True,
                            timeout=120)
    assert seeded.returncode == 0, seeded.stderr[-3000:]
    _api(live_hub.url, owner_token, "POST", f"/api/models/{repo}/collaborators", {"user": reviewer, "role": "write"})
    _api(live_hub.url, owner_token, "PUT", f"/api/models/{repo}/merge-rules", {"requiredApprovals": 1})
    url = f"{live_hub.url}/{repo}"

    # The owner uploads the fine-tuned checkpoint as a pull request.
    page = new_page()
    _log_in(page, live_hub.url, owner)
    page.goto(f"{url}/upload/main")
    page.set_input_files("input[type=file]", str(tmp_path / "tuned" / "model.safetensors"))
    page.fill("#id_summary", "Fine-tune layers 1 and 3")
    page.check("#id_pull_request")
    page.click("button[type=submit][data-busy-label]")
    page.wait_for_url(f"{url}/discussions/1")
    assert "Opened pull request #1" in page.inner_text("main")
    assert page.locator("[data-check=approvals]").inner_text().startswith("…")
    assert page.locator("button:has-text('Merge pull request')").is_disabled()

    # Files changed: exactly the two fine-tuned tensors; comment on one of them.
    page.click("text=Files changed")
    page.wait_for_url(f"{url}/discussions/1/files")
    section = page.locator("[data-tensor-diff='model.safetensors']")
    assert "2 of 8 tensors differ" in section.locator("[data-tensor-summary]").inner_text()
    changed = sorted(section.locator("tr.tensor-changed").evaluate_all("rows => rows.map(r => r.dataset.tensor)"))
    assert changed == ["encoder.layer.1.weight", "encoder.layer.3.weight"]
    section.locator("[data-tensor-comment='encoder.layer.1.weight']").click()
    assert section.locator("[data-tensor-input]").input_value() == "encoder.layer.1.weight"
    section.locator("[data-tensor-text]").fill("Is +0.5 on every weight intended?")
    section.locator("button:has-text('Comment on tensor')").click()
    page.wait_for_url(f"{url}/discussions/1/files")
    thread = page.locator("tr.tensor-threads .thread")
    assert "Is +0.5 on every weight intended?" in thread.inner_text()
    assert "encoder.layer.1.weight" in thread.locator(".thread-head").inner_text()
    assert page.errors == []
    page.screenshot(path="/tmp/ui-pr-files.png", full_page=True)  # for a look at the design

    # A second user, a writer, approves; then the merge is allowed and done.
    second = new_page()
    _log_in(second, live_hub.url, reviewer)
    second.goto(f"{url}/discussions/1")
    assert "tensor encoder.layer.1.weight of model.safetensors" in second.inner_text(".timeline")
    second.check("input[name=state][value=approved]")
    second.fill("#review-body", "Looks right.")
    second.click("button:has-text('Submit review')")
    second.wait_for_url(f"{url}/discussions/1")
    assert second.locator("[data-check=approvals]").inner_text().startswith("✓")
    second.click("button:has-text('Merge pull request')")
    second.wait_for_url(f"{url}/discussions/1")
    assert second.locator("[data-status]").inner_text() == "merged"
    assert "merged into main" in second.inner_text("main")
    assert second.errors == []
    second.screenshot(path="/tmp/ui-pr-merged.png", full_page=True)
    # The owner, who watches the repository, was told (in-app).
    page.goto(f"{live_hub.url}/notifications")
    assert f"{reviewer} merged pull request #1" in page.inner_text("main")
    info = _api(live_hub.url, owner_token, "GET", f"/api/models/{repo}/discussions/1")
    assert info["status"] == "merged" and info["changes"]["mergeCommitId"]


XSS = [
    "<script>window.__xss = 1</script>",
    '<img src=x onerror="window.__xss = 2">',
    '<svg onload="window.__xss = 3"><circle/></svg>',
    "[click](javascript:window.__xss=4)",
    '<a href="javascript:window.__xss=5" onclick="window.__xss=6">x</a>',
    '<iframe srcdoc="<script>parent.__xss=7</script>"></iframe>',
    '<details open ontoggle="window.__xss=8"><summary>s</summary></details>',
    '<div style="position:fixed" onmouseover="window.__xss=9">overlay</div>',
    '"><img src=x onerror=window.__xss=10>',
]


def test_xss_corpus_in_titles_and_comments_renders_inert(live_hub, new_page):
    suffix = uuid.uuid4().hex[:6]
    owner = f"xssowner{suffix}"
    token = live_hub.create_user(owner)
    repo = f"{owner}/xss-{suffix}"
    _api(live_hub.url, token, "POST", "/api/repos/create", {"name": f"xss-{suffix}", "type": "model"})
    for payload in XSS:
        num = _api(live_hub.url, token, "POST", f"/api/models/{repo}/discussions",
                   {"title": f"T {payload}"[:200], "description": payload})["num"]
        _api(live_hub.url, token, "POST", f"/api/models/{repo}/discussions/{num}/comment",
             {"comment": f"reply {payload} @{owner}"})
    page = new_page()
    _log_in(page, live_hub.url, owner)
    pages = [f"/{repo}/discussions", "/notifications"] + [f"/{repo}/discussions/{n}" for n in range(1, len(XSS) + 1)]
    for path in pages:
        page.goto(f"{live_hub.url}{path}")
        page.mouse.move(10, 10)
        page.mouse.move(640, 450)
        assert page.evaluate("window.__xss") is None, path
        handlers = page.evaluate("""() => Array.from(document.querySelectorAll('*')).flatMap(
            el => Array.from(el.attributes).filter(a => a.name.toLowerCase().startsWith('on'))
                .map(a => el.tagName + ' ' + a.name))""")
        assert handlers == [], (path, handlers)
        links = page.evaluate("""() => Array.from(document.querySelectorAll('[href],[src]'))
            .map(el => el.getAttribute('href') || el.getAttribute('src'))
            .filter(v => /^\\s*(javascript|data|vbscript):/i.test(v))""")
        assert links == [], (path, links)
        assert page.locator("script:not([src])").count() == 0, path
    # `<img src=x>` survives sanitizing (a harmless relative image): its 404 is the only error.
    assert page.dialogs == [] and [e for e in page.errors if "Failed to load resource" not in e] == []
