"""The UI in a real browser (headless Chromium) against a live hub: log in, create a model,
upload through the drag-and-drop form, view the file, edit it, read the history and diff."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.browser.chromium import ARGS, CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.live,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing (apt-get install chromium)"),
]


@pytest.fixture
def page(live_hub):
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS, timeout=30_000)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(15_000)
            page = context.new_page()
            page.errors = []  # type: ignore[attr-defined]
            page.on("pageerror", lambda exc: page.errors.append(str(exc)))
            page.on("console", lambda msg: msg.type == "error" and page.errors.append(msg.text))
            yield page
        finally:
            browser.close()


def test_create_upload_view_edit_and_read_history(live_hub, page, tmp_path: Path):
    user = "uibrowser"
    live_hub.create_user(user)
    base = live_hub.url

    # Log in with the form (redirected there from a write page).
    page.goto(f"{base}/new")
    assert page.url.startswith(f"{base}/login?next=")
    page.fill("#id_username", user)
    page.fill("#id_password", f"{user}-Pa55word!")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}/new")

    # Create a model repository.
    page.fill("#id_name", "ui-model")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}/{user}/ui-model")
    assert "No model card yet" in page.inner_text("main")

    # Upload a Python file through the drop zone's file input.
    source = tmp_path / "train.py"
    source.write_text("def train(epochs):\n    return epochs * 2\n")
    page.click("text=Upload files")
    page.wait_for_url(f"{base}/{user}/ui-model/upload/main")
    page.set_input_files("input[type=file]", str(source))
    assert "train.py" in page.inner_text("[data-file-list]")
    page.fill("#id_summary", "Add the training script")
    page.click("button[type=submit][data-busy-label]")
    page.wait_for_url(f"{base}/{user}/ui-model/tree/main")
    assert "Committed 1 file(s)" in page.inner_text("main")
    assert page.locator(".file-table >> text=train.py").count() == 1

    # The file view is highlighted.
    page.click(".file-table >> text=train.py")
    page.wait_for_url(f"{base}/{user}/ui-model/blob/main/train.py")
    assert page.locator(".highlight .k", has_text="def").count() >= 1
    assert page.locator(".highlight .k", has_text="return").count() >= 1

    # Edit it in the browser.
    page.click("a:has-text('Edit')")
    page.wait_for_url(f"{base}/{user}/ui-model/edit/main/train.py")
    page.fill("#id_content", "def train(epochs):\n    return epochs * 3\n")
    page.fill("#id_summary", "Triple the epochs")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}/{user}/ui-model/blob/main/train.py")
    assert "epochs * 3" in page.inner_text(".highlight")

    # History lists both commits; the edit's page shows the colored diff.
    page.click("a:has-text('History')")
    page.wait_for_url(re.compile(rf"{re.escape(base)}/{user}/ui-model/commits/main/train\.py$"))
    titles = page.locator(".commit-list .title").all_inner_texts()
    assert titles[:2] == ["Triple the epochs", "Add the training script"]
    page.click(".commit-list .title >> text=Triple the epochs")
    page.wait_for_url(re.compile(rf"{re.escape(base)}/{user}/ui-model/commit/[0-9a-f]{{40}}$"))
    assert "epochs * 2" in page.inner_text(".diff-table tr.del")
    assert "epochs * 3" in page.inner_text(".diff-table tr.add")
    page.screenshot(path="/tmp/ui-commit.png", full_page=True)

    # The file tree, for a look at the design.
    page.goto(f"{base}/{user}/ui-model/tree/main")
    page.screenshot(path="/tmp/ui-tree.png", full_page=True)

    # A private repository: visible to its owner, a plain 404 page once logged out.
    page.goto(f"{base}/new")
    page.fill("#id_name", "ui-private")
    page.check("#id_private")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}/{user}/ui-private")
    assert "private" in page.inner_text(".repo-title")
    page.click("summary[aria-label^='Account menu']")
    page.click("text=Log out")
    page.wait_for_url(f"{base}/")
    assert page.errors == []  # no script error and no failed resource (CSS, JS, icons) so far
    response = page.goto(f"{base}/{user}/ui-private")
    assert response is not None and response.status == 404
    assert "Repository not found" in page.inner_text("main")
